package sim

import (
	"fmt"
	"strings"
)

// flagSpec describes a program's options: "n:,namespace:,A,all-namespaces"
// lists the option names, a trailing ':' marking those that take a value.
type flagSpec struct {
	takes map[string]bool
}

func newFlagSpec(spec string) flagSpec {
	f := flagSpec{takes: map[string]bool{}}
	for _, s := range strings.Split(spec, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		name, value := strings.CutSuffix(s, ":")
		f.takes[name] = value
	}
	return f
}

// option is one option given on a command line.
type option struct {
	name  string
	value string
}

// cmdline is a parsed command line: options (in order) and operands.
type cmdline struct {
	opts []option
	args []string
}

// parse splits args into options and operands; options may come anywhere
// (GNU style), "--" ends them. An option the spec does not list is an error
// naming it as given.
func (f flagSpec) parse(args []string) (*cmdline, error) {
	c := &cmdline{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			c.args = append(c.args, args[i+1:]...)
			return c, nil
		case strings.HasPrefix(a, "--"):
			name, value, hasValue := strings.Cut(a[2:], "=")
			takes, ok := f.takes[name]
			if !ok {
				return nil, fmt.Errorf("unknown flag: --%s", name)
			}
			if takes && !hasValue {
				if i+1 >= len(args) {
					return nil, fmt.Errorf("flag needs an argument: --%s", name)
				}
				i++
				value = args[i]
			} else if !takes && hasValue {
				// --flag=true / --flag=false for boolean flags
				if value == "false" {
					continue
				}
			}
			c.opts = append(c.opts, option{name, value})
		case strings.HasPrefix(a, "-") && len(a) > 1:
			for j := 1; j < len(a); j++ {
				name := string(a[j])
				takes, ok := f.takes[name]
				if !ok {
					return nil, fmt.Errorf("unknown shorthand flag: '%s' in %s", name, a)
				}
				if !takes {
					c.opts = append(c.opts, option{name: name})
					continue
				}
				value := strings.TrimPrefix(a[j+1:], "=")
				if j+1 >= len(a) {
					if i+1 >= len(args) {
						return nil, fmt.Errorf("flag needs an argument: '%s' in -%s", name, name)
					}
					i++
					value = args[i]
				}
				c.opts = append(c.opts, option{name, value})
				break
			}
		default:
			c.args = append(c.args, a)
		}
	}
	return c, nil
}

// has reports whether any of the names was given.
func (c *cmdline) has(names ...string) bool {
	for _, o := range c.opts {
		for _, n := range names {
			if o.name == n {
				return true
			}
		}
	}
	return false
}

// value returns the last value given for any of the names.
func (c *cmdline) value(names ...string) (string, bool) {
	v, found := "", false
	for _, o := range c.opts {
		for _, n := range names {
			if o.name == n {
				v, found = o.value, true
			}
		}
	}
	return v, found
}

// values returns every value given for any of the names, in order.
func (c *cmdline) values(names ...string) []string {
	var out []string
	for _, o := range c.opts {
		for _, n := range names {
			if o.name == n {
				out = append(out, o.value)
			}
		}
	}
	return out
}
