package shell

import (
	"fmt"
	"strings"
)

// optSpec describes a utility's options, getopt style.
type optSpec struct {
	// short lists the one-letter options; a letter followed by ':' takes a
	// value ("-n 5" or "-n5").
	short string
	// long maps long option names to a canonical name; a trailing ':' on
	// the canonical name means it takes a value ("--lines=5" or "--lines 5").
	long map[string]string
	// posix stops at the first operand; otherwise options and operands mix,
	// as GNU utilities allow.
	posix bool
	// usage is printed after an unknown option.
	usage string
}

// options are the options found on a command line, in order.
type options []opt

type opt struct{ name, val string }

func (o options) has(name string) bool {
	for _, x := range o {
		if x.name == name {
			return true
		}
	}
	return false
}

// get returns the last value of name, or def.
func (o options) get(name, def string) string {
	for i := len(o) - 1; i >= 0; i-- {
		if o[i].name == name {
			return o[i].val
		}
	}
	return def
}

// all returns every value of name, in order.
func (o options) all(name string) []string {
	var out []string
	for _, x := range o {
		if x.name == name {
			out = append(out, x.val)
		}
	}
	return out
}

// takesValue reports whether the short option b takes a value, and whether it exists.
func (s optSpec) shortOpt(b byte) (exists, value bool) {
	i := strings.IndexByte(s.short, b)
	if i < 0 || b == ':' {
		return false, false
	}
	return true, i+1 < len(s.short) && s.short[i+1] == ':'
}

// parse splits args (without argv[0]) into options and operands. On a bad
// option it prints the error and usage and returns ok=false (exit status 2).
func (c *Call) parse(args []string, spec optSpec) (opts options, operands []string, ok bool) {
	bad := func(format string, a ...any) (options, []string, bool) {
		fmt.Fprintf(c.Stderr, "%s: %s\n", c.name(), fmt.Sprintf(format, a...))
		if spec.usage != "" {
			fmt.Fprintf(c.Stderr, "usage: %s\n", spec.usage)
		}
		return nil, nil, false
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return opts, append(operands, args[i+1:]...), true
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			canon, known := spec.long[name]
			if !known {
				return bad("unrecognized option '%s'", a)
			}
			canon, needs := strings.CutSuffix(canon, ":")
			if !needs && len(canon) == 1 {
				_, needs = spec.shortOpt(canon[0])
			}
			switch {
			case needs && !hasVal:
				if i+1 >= len(args) {
					return bad("option '--%s' requires an argument", name)
				}
				i++
				val = args[i]
			case !needs && hasVal:
				return bad("option '--%s' doesn't allow an argument", name)
			}
			opts = append(opts, opt{canon, val})
		case len(a) > 1 && a[0] == '-':
			for j := 1; j < len(a); j++ {
				exists, needs := spec.shortOpt(a[j])
				if !exists {
					return bad("invalid option -- '%c'", a[j])
				}
				if !needs {
					opts = append(opts, opt{string(a[j]), ""})
					continue
				}
				val := a[j+1:]
				if val == "" {
					if i+1 >= len(args) {
						return bad("option requires an argument -- '%c'", a[j])
					}
					i++
					val = args[i]
				}
				opts = append(opts, opt{string(a[j]), val})
				break
			}
		default:
			if spec.posix {
				return opts, append(operands, args[i:]...), true
			}
			operands = append(operands, a)
		}
	}
	return opts, operands, true
}

// usageErr prints a usage error and returns status 2.
func (c *Call) usageErr(usage, format string, a ...any) int {
	if format != "" {
		c.errf(format, a...)
	}
	fmt.Fprintf(c.Stderr, "usage: %s\n", usage)
	return 2
}
