package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The generated files are what the Record struct makes: run `go generate`
// in runbook/journal after changing it.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	dir := filepath.Join("..", "..")
	src, err := os.ReadFile(filepath.Join(dir, SchemaFile))
	if err != nil {
		t.Fatal(err)
	}
	code, test, err := Generate(src)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]byte{CodeFile: code, TestFile: test} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is not what record.go makes: run go generate in runbook/journal", name)
		}
	}
}

// A field recordgen cannot encode stops it, naming the field.
func TestGenerateRefuses(t *testing.T) {
	tests := []struct {
		field string
		want  string
	}{
		{"Extra float64 `json:\"extra,omitempty\"`", "field Extra: recordgen does not know type float64"},
		{"extra string `json:\"extra,omitempty\"`", "field extra is not exported"},
		{"Extra string", "field Extra: json tag \"\""},
		{"Extra string `json:\"-\"`", "field Extra: json tag"},
		{"Extra string `json:\"extra,string\"`", "field Extra: json tag"},
		{"Extra bool `json:\"extra\"`", "field Extra: a bool field must be omitempty"},
		{"Extra time.Time `json:\"extra,omitempty\"`", "omitempty does not leave out a time.Time"},
		{"time.Time", "embedded field time.Time"},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			src := "package journal\n\ntype Record struct {\n\tSeq int64 `json:\"seq\"`\n\t" + tt.field + "\n}\n"
			_, _, err := Generate([]byte(src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
	if _, _, err := Generate([]byte("package journal\n\ntype Other struct{}\n")); err == nil {
		t.Error("no error without a Record struct")
	}
}
