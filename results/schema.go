package results

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// RunSchema is the JSON Schema of run.json (schema version
// SchemaVersion).
//
//go:embed run.schema.json
var RunSchema []byte

// KCIDBSchema is the JSON Schema kcidb.json is checked against: KCIDB
// v5.3's documented rules, written here (see kcidb.go).
//
//go:embed kcidb.schema.json
var KCIDBSchema []byte

// compiled compiles an embedded schema once.
func compiled(name string, schema []byte) func() (*jsonschema.Schema, error) {
	return sync.OnceValues(func() (*jsonschema.Schema, error) {
		s, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
		if err != nil {
			return nil, err
		}
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		if err := c.AddResource(name, s); err != nil {
			return nil, err
		}
		return c.Compile(name)
	})
}

var (
	runSchema   = compiled("run.schema.json", RunSchema)
	kcidbSchema = compiled("kcidb.schema.json", KCIDBSchema)
)

// ValidateJSON checks a run.json document against RunSchema.
func ValidateJSON(doc []byte) error { return validateWith(runSchema, "run", doc) }

// ValidateKCIDB checks a kcidb.json document against KCIDBSchema.
func ValidateKCIDB(doc []byte) error { return validateWith(kcidbSchema, "KCIDB", doc) }

func validateWith(schema func() (*jsonschema.Schema, error), name string, doc []byte) error {
	s, err := schema()
	if err != nil {
		return fmt.Errorf("%s schema: %w", name, err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	return s.Validate(v)
}

// Validate checks the record, as it would be written, against RunSchema.
func (r *Record) Validate() error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return ValidateJSON(b)
}
