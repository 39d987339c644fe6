package shell

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/itchyny/gojq"
)

func init() { register(map[string]Program{"jq": runJq}) }

const jqUsage = "jq [-cjnrRsSe] [--tab] [--indent n] [--arg name value] [--argjson name json] [--slurpfile name file] [--rawfile name file] filter [file ...]"

type jqOpts struct {
	compact, raw, join, null, slurp, rawIn, sortKeys, exitStatus, tab, ascii bool
	indent                                                                   int
	names                                                                    []string
	values                                                                   []any
	positional                                                               []any
}

// runJq is jq, with github.com/itchyny/gojq. Files are read inside the node;
// $ENV and env are the command's environment.
func runJq(c *Call) int {
	o := jqOpts{indent: 2}
	args := c.Args[1:]
	var filter *string
	var files []string
	named := map[string]any{}
	var order []string
	setVar := func(name string, v any) {
		if _, ok := named[name]; !ok {
			order = append(order, name)
		}
		named[name] = v
	}
	need := func(i, n int, flag string) bool {
		if i+n >= len(args) {
			c.usageErr(jqUsage, "%s takes %d parameter%s", flag, n, plural(n, "", "s"))
			return false
		}
		return true
	}
	positionalMode := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		if positionalMode != "" && (filter != nil) && !strings.HasPrefix(a, "-") {
			if positionalMode == "args" {
				o.positional = append(o.positional, a)
			} else {
				v, err := decodeOneJSON(a)
				if err != nil {
					c.errf("Invalid JSON text passed to --jsonargs")
					return 2
				}
				o.positional = append(o.positional, v)
			}
			continue
		}
		switch a {
		case "-c", "--compact-output":
			o.compact = true
		case "-r", "--raw-output":
			o.raw = true
		case "-j", "--join-output":
			o.raw, o.join = true, true
		case "-a", "--ascii-output":
			o.ascii = true
		case "-n", "--null-input":
			o.null = true
		case "-s", "--slurp":
			o.slurp = true
		case "-R", "--raw-input":
			o.rawIn = true
		case "-S", "--sort-keys":
			o.sortKeys = true
		case "-e", "--exit-status":
			o.exitStatus = true
		case "-M", "--monochrome-output", "-C", "--color-output", "--unbuffered", "--seq", "--stream-errors":
		case "--tab":
			o.tab = true
		case "--indent":
			if !need(i, 1, a) {
				return 2
			}
			n, err := strconv.Atoi(args[i+1])
			if err != nil || n < 0 || n > 7 {
				c.errf("Cannot indent more than 7 characters")
				return 2
			}
			o.indent = n
			i++
		case "--arg":
			if !need(i, 2, a) {
				return 2
			}
			setVar(args[i+1], args[i+2])
			i += 2
		case "--argjson":
			if !need(i, 2, a) {
				return 2
			}
			v, err := decodeOneJSON(args[i+2])
			if err != nil {
				c.errf("Invalid JSON text passed to --argjson")
				return 2
			}
			setVar(args[i+1], v)
			i += 2
		case "--slurpfile", "--rawfile":
			if !need(i, 2, a) {
				return 2
			}
			data, err := c.fsys().ReadFile(c.abs(args[i+2]))
			if err != nil {
				c.errf("Bad JSON in --%s %s %s: %s", a[2:], args[i+1], args[i+2], errText(err))
				return 2
			}
			if a == "--rawfile" {
				setVar(args[i+1], string(data))
			} else {
				vals, err := decodeAllJSON(bytes.NewReader(data))
				if err != nil {
					c.errf("Bad JSON in --slurpfile %s %s: %v", args[i+1], args[i+2], err)
					return 2
				}
				setVar(args[i+1], vals)
			}
			i += 2
		case "--args", "--jsonargs":
			positionalMode = a[2:]
		default:
			if strings.HasPrefix(a, "-") && len(a) > 1 {
				// bundled short flags such as -rc
				if !strings.HasPrefix(a, "--") && strings.Trim(a[1:], "crjanRsSeMC") == "" {
					for _, ch := range a[1:] {
						switch ch {
						case 'c':
							o.compact = true
						case 'r':
							o.raw = true
						case 'j':
							o.raw, o.join = true, true
						case 'a':
							o.ascii = true
						case 'n':
							o.null = true
						case 's':
							o.slurp = true
						case 'R':
							o.rawIn = true
						case 'S':
							o.sortKeys = true
						case 'e':
							o.exitStatus = true
						}
					}
					continue
				}
				c.usageErr(jqUsage, "Unknown option: %s", a)
				return 2
			}
			if filter == nil {
				s := a
				filter = &s
			} else if positionalMode == "" {
				files = append(files, a)
			}
		}
	}
	if filter == nil {
		c.usageErr(jqUsage, "")
		return 2
	}
	for _, n := range order {
		o.names = append(o.names, "$"+n)
		o.values = append(o.values, named[n])
	}
	return jqRun(c, &o, *filter, files, named)
}

func decodeOneJSON(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data")
	}
	return v, nil
}

func decodeAllJSON(r io.Reader) ([]any, error) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	var out []any
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
}

func jqRun(c *Call, o *jqOpts, filter string, files []string, named map[string]any) int {
	q, err := gojq.Parse(filter)
	if err != nil {
		c.errf("error: %v\njq: 1 compile error", err)
		return 3
	}
	// Inputs: every JSON value (or line with -R) of every file, in order.
	inputs, readErr := jqInputs(c, o, files)
	if readErr != 0 {
		return readErr
	}
	var in []any
	if o.slurp {
		if o.rawIn {
			var b strings.Builder
			for _, v := range inputs {
				b.WriteString(v.(string))
			}
			in = []any{b.String()}
		} else {
			in = []any{inputs}
		}
	} else {
		in = inputs
	}
	env := func() []string { return nil }
	if c.Environ != nil {
		env = c.Environ
	}
	iter := gojq.NewIter(in...)
	positional := o.positional
	if positional == nil {
		positional = []any{}
	}
	namedObj := map[string]any{}
	for k, v := range named {
		namedObj[k] = v
	}
	code, err := gojq.Compile(q,
		gojq.WithVariables(append(o.names, "$ARGS")),
		gojq.WithEnvironLoader(env),
		gojq.WithInputIter(iter),
		gojq.WithFunction("debug", 0, 0, func(v any, _ []any) any {
			b, _ := gojq.Marshal([]any{"DEBUG:", v})
			fmt.Fprintf(c.Stderr, "%s\n", b)
			return v
		}),
		gojq.WithFunction("stderr", 0, 0, func(v any, _ []any) any {
			b, _ := gojq.Marshal(v)
			c.Stderr.Write(b)
			return v
		}),
		gojq.WithFunction("input_filename", 0, 0, func(any, []any) any { return nil }),
	)
	if err != nil {
		c.errf("error: %v\njq: 1 compile error", err)
		return 3
	}
	values := append(append([]any{}, o.values...), map[string]any{"positional": positional, "named": namedObj})
	var last any = nil
	produced := false
	status := 0
	var out bytes.Buffer
	runOne := func(v any) bool {
		it := code.RunWithContext(c.Ctx, v, values...)
		for {
			r, ok := it.Next()
			if !ok {
				return true
			}
			if err, isErr := r.(error); isErr {
				var halt *gojq.HaltError
				if errors.As(err, &halt) {
					if hv := halt.Value(); hv != nil {
						if s, ok := hv.(string); ok {
							io.WriteString(c.Stderr, s)
						} else {
							b, _ := gojq.Marshal(hv)
							fmt.Fprintf(c.Stderr, "%s\n", b)
						}
					}
					status = halt.ExitCode()
					return false
				}
				c.errf("error (at <stdin>:0): %v", err)
				status = 5
				continue
			}
			produced = true
			last = r
			if err := jqWrite(&out, o, r); err != nil {
				c.errf("error: %v", err)
				status = 5
			}
			if out.Len() > 32<<10 {
				if _, err := c.Stdout.Write(out.Bytes()); err != nil {
					return false
				}
				out.Reset()
			}
		}
	}
	if o.null {
		runOne(nil)
	} else {
		for {
			v, ok := iter.Next()
			if !ok {
				break
			}
			if !runOne(v) {
				break
			}
		}
	}
	if _, err := c.Stdout.Write(out.Bytes()); err != nil {
		return 2
	}
	if status != 0 {
		return status
	}
	if o.exitStatus {
		if !produced {
			return 4
		}
		if last == nil || last == false {
			return 1
		}
	}
	return 0
}

func jqInputs(c *Call, o *jqOpts, files []string) ([]any, int) {
	if o.null && len(files) == 0 {
		return nil, 0
	}
	var out []any
	status := 0
	st := c.eachInput(files, func(name string, r io.Reader) error {
		if o.rawIn {
			data, err := readAll(r)
			if err != nil {
				return err
			}
			if o.slurp {
				out = append(out, string(data))
				return nil
			}
			for _, l := range splitLinesKeep(string(data)) {
				out = append(out, strings.TrimSuffix(l, "\n"))
			}
			return nil
		}
		vals, err := decodeAllJSON(r)
		out = append(out, vals...)
		if err != nil {
			c.errf("error (at %s): Cannot parse the input: %v", name, err)
			status = 2
		}
		return nil
	})
	if st != 0 {
		status = 2
	}
	return out, status
}

// jqWrite prints one result as jq does.
func jqWrite(w *bytes.Buffer, o *jqOpts, v any) error {
	if s, ok := v.(string); ok && o.raw {
		w.WriteString(s)
		if !o.join {
			w.WriteByte('\n')
		}
		return nil
	}
	b, err := gojq.Marshal(v)
	if err != nil {
		return err
	}
	if !o.compact {
		var ind bytes.Buffer
		indent := strings.Repeat(" ", o.indent)
		if o.tab {
			indent = "\t"
		}
		if err := json.Indent(&ind, b, "", indent); err == nil {
			b = ind.Bytes()
		}
	}
	if o.ascii {
		b = []byte(asciiJSON(string(b)))
	}
	w.Write(b)
	if !o.join {
		w.WriteByte('\n')
	}
	return nil
}

func asciiJSON(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 128 {
			b.WriteRune(r)
			continue
		}
		if r > 0xffff {
			r -= 0x10000
			fmt.Fprintf(&b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
			continue
		}
		fmt.Fprintf(&b, `\u%04x`, r)
	}
	return b.String()
}
