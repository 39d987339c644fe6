// Command recordgen writes the code that follows from the journal's record
// schema, the Record struct of record.go: the JSON encoder of its fields,
// its UTF-8 check and its empty-to-nil normalisation (record_gen.go), and
// the random records of its tests (record_gen_test.go). `go generate` in
// runbook/journal runs it; its test fails when the files are not current.
//
// A field of a type it does not know, or a tag it does not, stops it: the
// encoder must then be taught that type, never left to drop the field.
package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"log"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
)

// The files recordgen reads and writes, in runbook/journal.
const (
	SchemaFile = "record.go"
	CodeFile   = "record_gen.go"
	TestFile   = "record_gen_test.go"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("recordgen: ")
	src, err := os.ReadFile(SchemaFile)
	if err != nil {
		log.Fatal(err)
	}
	code, test, err := Generate(src)
	if err != nil {
		log.Fatal(err)
	}
	for name, data := range map[string][]byte{CodeFile: code, TestFile: test} {
		if err := os.WriteFile(name, data, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}

// field is one field of Record as the generated code handles it.
type field struct {
	name      string // Go name
	key       string // JSON key
	typ       string // Go type, as written
	omitEmpty bool
}

// kind says how the fields of one Go type are encoded, checked and drawn
// at random.
type kind struct {
	// encode returns the statement appending the field, whose key comes
	// with its leading comma (or brace).
	encode func(f field) (string, error)
	// plain marks a string, checked for UTF-8 in validUTF8's list.
	plain bool
	// validUTF8 is the call checking the strings of a field that holds
	// some (%s is the field's name); "" when none is checked.
	validUTF8 string
	// nilEmpty marks maps and lists, which read back as nil when empty.
	nilEmpty bool
	// random is the method of recordRand (encode_test.go) that draws one.
	random string
	// asIs is false for values whose Go types JSON does not keep (any).
	asIs bool
}

func omitOnly(typ string, enc func(f field) string) func(f field) (string, error) {
	return func(f field) (string, error) {
		if !f.omitEmpty {
			return "", fmt.Errorf("field %s: a %s field must be omitempty", f.name, typ)
		}
		return enc(f), nil
	}
}

var kinds = map[string]kind{
	"string": {
		encode: func(f field) (string, error) {
			if f.omitEmpty {
				return fmt.Sprintf("b = strField(b, `%s`, r.%s)", f.key, f.name), nil
			}
			return fmt.Sprintf("b = appendKeyString(b, `%s`, r.%s)", f.key, f.name), nil
		},
		plain: true, random: "str", asIs: true,
	},
	"int": {
		encode: intEncoder("int64(r.%s)"), random: "num", asIs: true,
	},
	"int64": {
		encode: intEncoder("r.%s"), random: "num64", asIs: true,
	},
	"bool": {
		encode: omitOnly("bool", func(f field) string {
			return fmt.Sprintf("b = boolField(b, `%strue`, r.%s)", f.key, f.name)
		}),
		random: "flag", asIs: true,
	},
	"*int": {
		encode: omitOnly("*int", func(f field) string {
			return fmt.Sprintf("b = intPtrField(b, `%s`, r.%s)", f.key, f.name)
		}),
		random: "numPtr", asIs: true,
	},
	"time.Time": {
		encode: func(f field) (string, error) {
			if f.omitEmpty {
				return "", fmt.Errorf("field %s: omitempty does not leave out a time.Time", f.name)
			}
			return fmt.Sprintf("b = timeField(b, `%s`, r.%s)", f.key, f.name), nil
		},
		random: "time", asIs: true,
	},
	"[]string": {
		encode: omitOnly("[]string", func(f field) string {
			return fmt.Sprintf("b = listField(b, `%s`, r.%s)", f.key, f.name)
		}),
		validUTF8: "validList(r.%s)", nilEmpty: true, random: "strList", asIs: true,
	},
	"map[string]string": {
		encode: omitOnly("map[string]string", func(f field) string {
			return fmt.Sprintf("b = mapField(b, `%s`, r.%s, appendString)", f.key, f.name)
		}),
		validUTF8: "validStringMap(r.%s)", nilEmpty: true, random: "strMap", asIs: true,
	},
	"map[string]int": {
		encode: omitOnly("map[string]int", func(f field) string {
			return fmt.Sprintf("b = mapField(b, `%s`, r.%s, appendInt)", f.key, f.name)
		}),
		validUTF8: "validKeys(r.%s)", nilEmpty: true, random: "numMap", asIs: true,
	},
	"Params": {
		encode: omitOnly("Params", func(f field) string {
			return fmt.Sprintf("if b, err = paramsField(b, `%s`, r.%s); err != nil {\n\t\treturn b, err\n\t}", f.key, f.name)
		}),
		validUTF8: "r.%s.validUTF8()", nilEmpty: true, random: "params", asIs: true,
	},
	"map[string]any": {
		encode: omitOnly("map[string]any", func(f field) string {
			return fmt.Sprintf("if b, err = anyField(b, `%s`, r.%s); err != nil {\n\t\treturn b, err\n\t}", f.key, f.name)
		}),
		nilEmpty: true, random: "anyMap", asIs: false,
	},
}

func intEncoder(value string) func(f field) (string, error) {
	return func(f field) (string, error) {
		v := fmt.Sprintf(value, f.name)
		if f.omitEmpty {
			return fmt.Sprintf("b = intField(b, `%s`, %s)", f.key, v), nil
		}
		return fmt.Sprintf("b = appendKeyInt(b, `%s`, %s)", f.key, v), nil
	}
}

var jsonKey = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Fields reads the fields of the Record struct in src, in order.
func Fields(src []byte) ([]field, error) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, SchemaFile, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	var st *ast.StructType
	ast.Inspect(file, func(n ast.Node) bool {
		if ts, ok := n.(*ast.TypeSpec); ok && ts.Name.Name == "Record" {
			st, _ = ts.Type.(*ast.StructType)
		}
		return st == nil
	})
	if st == nil {
		return nil, fmt.Errorf("%s: no struct type Record", SchemaFile)
	}
	var fields []field
	for _, fl := range st.Fields.List {
		typ := typeString(fset, fl.Type)
		if len(fl.Names) == 0 {
			return nil, fmt.Errorf("%s: embedded field %s", fset.Position(fl.Pos()), typ)
		}
		tag := ""
		if fl.Tag != nil {
			tag, _ = strconv.Unquote(fl.Tag.Value)
		}
		key, opts, _ := strings.Cut(reflect.StructTag(tag).Get("json"), ",")
		for _, name := range fl.Names {
			f := field{name: name.Name, key: key, typ: typ, omitEmpty: opts == "omitempty"}
			switch {
			case !name.IsExported():
				return nil, fmt.Errorf("%s: field %s is not exported: the journal would drop it", fset.Position(name.Pos()), name.Name)
			case !jsonKey.MatchString(key) || opts != "" && opts != "omitempty":
				return nil, fmt.Errorf("%s: field %s: json tag %q is not `json:\"key\"` or `json:\"key,omitempty\"`", fset.Position(name.Pos()), name.Name, tag)
			}
			if _, ok := kinds[typ]; !ok {
				return nil, fmt.Errorf("%s: field %s: recordgen does not know type %s", fset.Position(name.Pos()), name.Name, typ)
			}
			fields = append(fields, f)
		}
	}
	return fields, nil
}

func typeString(fset *token.FileSet, e ast.Expr) string {
	var b bytes.Buffer
	format.Node(&b, fset, e)
	return b.String()
}

const header = "// Code generated by recordgen from record.go; DO NOT EDIT.\n\n"

// Generate returns record_gen.go and record_gen_test.go for the schema src.
func Generate(src []byte) (code, test []byte, err error) {
	fields, err := Fields(src)
	if err != nil {
		return nil, nil, err
	}
	if code, err = generateCode(fields); err != nil {
		return nil, nil, err
	}
	test, err = generateTest(fields)
	return code, test, err
}

func generateCode(fields []field) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(header + "package journal\n\nimport \"unicode/utf8\"\n\n")
	b.WriteString("// appendFields appends r as encoding/json marshals it, with no special\n")
	b.WriteString("// case for its time (appendRecord sees to that).\n")
	b.WriteString("func appendFields(b []byte, r *Record) ([]byte, error) {\n\tvar err error\n")
	for i, f := range fields {
		f.key = fmt.Sprintf(`,%q:`, f.key)
		if i == 0 {
			f.key = "{" + f.key[1:]
		}
		line, err := kinds[f.typ].encode(f)
		if err != nil {
			return nil, err
		}
		b.WriteString("\t" + line + "\n")
	}
	b.WriteString("\treturn append(b, '}'), err\n}\n\n")

	var plain, calls []string
	for _, f := range fields {
		k := kinds[f.typ]
		if k.plain {
			plain = append(plain, "r."+f.name)
		}
		if k.validUTF8 != "" {
			calls = append(calls, fmt.Sprintf(k.validUTF8, f.name))
		}
	}
	b.WriteString("// validUTF8 reports whether every string of r, map keys included, is\n// valid UTF-8 (the values of an any map aside).\n")
	b.WriteString("func (r *Record) validUTF8() bool {\n\tfor _, s := range [...]string{\n")
	b.WriteString(wrap(plain, "\t\t", 100))
	b.WriteString("\t} {\n\t\tif !utf8.ValidString(s) {\n\t\t\treturn false\n\t\t}\n\t}\n")
	if len(calls) == 0 {
		calls = []string{"true"}
	}
	b.WriteString("\treturn " + strings.Join(calls, " &&\n\t\t") + "\n}\n\n")

	b.WriteString("// nilEmpty sets r's empty maps and lists to nil, as they read back.\nfunc (r *Record) nilEmpty() {\n")
	var notAsIs []string
	for _, f := range fields {
		k := kinds[f.typ]
		if k.nilEmpty {
			fmt.Fprintf(&b, "\tif len(r.%s) == 0 {\n\t\tr.%s = nil\n\t}\n", f.name, f.name)
		}
		if !k.asIs {
			notAsIs = append(notAsIs, fmt.Sprintf("r.%s == nil", f.name))
		}
	}
	b.WriteString("}\n\n")
	b.WriteString("// readsBackAsIs reports whether r, once nilEmpty, reads back from the\n// journal as it is: no invalid UTF-8, no value of a Go type JSON loses.\n")
	b.WriteString("func (r *Record) readsBackAsIs() bool {\n\treturn " + strings.Join(append(notAsIs, "r.validUTF8()"), " && ") + "\n}\n")
	return format.Source(b.Bytes())
}

// wrap lists items, each followed by a comma, in lines of at most width
// bytes after indent.
func wrap(items []string, indent string, width int) string {
	var b, line strings.Builder
	for _, it := range items {
		if line.Len() > 0 && line.Len()+len(it)+2 > width {
			b.WriteString(indent + strings.TrimSuffix(line.String(), " ") + "\n")
			line.Reset()
		}
		line.WriteString(it + ", ")
	}
	if line.Len() > 0 {
		b.WriteString(indent + strings.TrimSuffix(line.String(), " ") + "\n")
	}
	return b.String()
}

func generateTest(fields []field) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(header + "package journal\n\nimport \"math/rand/v2\"\n\n")
	b.WriteString("// randomRecord fills every field of a record at random, or leaves it\n// empty, with strings drawn from strs (see recordRand).\n")
	b.WriteString("func randomRecord(rng *rand.Rand, strs []string) Record {\n\tg := recordRand{rng, strs}\n\treturn Record{\n")
	for _, f := range fields {
		fmt.Fprintf(&b, "\t\t%s: g.%s(),\n", f.name, kinds[f.typ].random)
	}
	b.WriteString("\t}\n}\n")
	return format.Source(b.Bytes())
}
