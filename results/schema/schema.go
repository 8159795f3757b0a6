// Package schema checks patchtest's JSON outputs against their JSON
// Schemas: run.json against run.schema.json, kcidb.json against KCIDB
// v5.3's rules (kcidb.schema.json). It is a package of its own so that
// the patchtest binary, which is also the guest's init and agent, does
// not link the schema validator: its package initialisation made every
// process the guest started (a fuzzing program's worker, a benchmark's)
// about 3 ms dearer on the host and far more under emulation.
package schema

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Run is the JSON Schema of run.json (results.SchemaVersion).
//
//go:embed run.schema.json
var Run []byte

// KCIDB is the JSON Schema kcidb.json is checked against: KCIDB v5.3's
// documented rules, written here (see results/kcidb.go).
//
//go:embed kcidb.schema.json
var KCIDB []byte

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
	runSchema   = compiled("run.schema.json", Run)
	kcidbSchema = compiled("kcidb.schema.json", KCIDB)
)

// ValidateRun checks a run.json document against Run.
func ValidateRun(doc []byte) error { return validateWith(runSchema, "run", doc) }

// ValidateKCIDB checks a kcidb.json document against KCIDB.
func ValidateKCIDB(doc []byte) error { return validateWith(kcidbSchema, "KCIDB", doc) }

// Record checks a record (a results.Record), as it would be written,
// against Run.
func Record(rec any) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return ValidateRun(b)
}

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
