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

var (
	runSchemaOnce sync.Once
	runSchema     *jsonschema.Schema
	runSchemaErr  error
)

// ValidateJSON checks a run.json document against RunSchema.
func ValidateJSON(doc []byte) error {
	runSchemaOnce.Do(func() {
		s, err := jsonschema.UnmarshalJSON(bytes.NewReader(RunSchema))
		if err != nil {
			runSchemaErr = err
			return
		}
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		if err := c.AddResource("run.schema.json", s); err != nil {
			runSchemaErr = err
			return
		}
		runSchema, runSchemaErr = c.Compile("run.schema.json")
	})
	if runSchemaErr != nil {
		return fmt.Errorf("run schema: %w", runSchemaErr)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	return runSchema.Validate(v)
}

// Validate checks the record, as it would be written, against RunSchema.
func (r *Record) Validate() error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return ValidateJSON(b)
}
