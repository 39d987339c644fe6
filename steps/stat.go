package steps

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/runbookhq/runbook/runbook"
)

func init() { register[Stat]("stat") }

// Stat reads what is at a path on the host and records it for later
// steps: `stat: PATH` or `stat: {path, follow, checksum}`. With `register:
// cfg` a later step sees cfg.data.exists, and for a path that exists
// .type (file, directory, link, fifo, socket, char, block), .mode
// ("0644"), .owner, .group, .uid, .gid, .size, .mtime (Unix seconds),
// .sha256 (regular files, unless checksum: false) and .link_target (a
// link not followed). It changes nothing and reports ok; a path that is
// not there is not a failure (.exists is false).
type Stat struct {
	Path     string `yaml:"path" desc:"The path on the host." required:"true"`
	Follow   bool   `yaml:"follow" desc:"Report what a symbolic link points to rather than the link."`
	Checksum *bool  `yaml:"checksum" desc:"Record the SHA-256 of a regular file (default true)."`
}

// DecodeYAML implements runbook.YAMLDecoder.
func (s *Stat) DecodeYAML(d *runbook.Decoder, n *yaml.Node) {
	if n.Kind == yaml.ScalarNode {
		s.Path, _ = d.Scalar(n, "a path")
		return
	}
	d.DecodeFields(n, s)
}

// JSONSchema implements runbook.SchemaProvider.
func (*Stat) JSONSchema(g *runbook.SchemaGen) map[string]any {
	return scalarOr(g, Stat{}, "The path on the host.")
}

// Validate implements runbook.StepSpec.
func (s *Stat) Validate(c *runbook.Check) {
	if s.Path == "" {
		c.Errorf("", "stat: needs path: (the path on the host)")
	} else if !runbook.HasTemplate(s.Path) && !strings.HasPrefix(s.Path, "/") {
		c.Errorf("path", "stat: path %q must be absolute", s.Path)
	}
}

// Describe implements Kind.
func (s *Stat) Describe() string {
	d := "stat: " + s.Path
	if s.Follow {
		d += " (following links)"
	}
	return d
}

func (s *Stat) checksum() bool { return s.Checksum == nil || *s.Checksum }

// script prints key=value lines of what is at the path.
func (s *Stat) script() string {
	l := ""
	if s.Follow {
		l = "-L "
	}
	sum := ""
	if s.checksum() {
		sum = `
case $t in regular*) h=$(sha256sum < "$f") || exit 1; echo "sha256=${h%% *}";; esac`
	}
	missing, link := `[ ! -e "$f" ]`, ""
	if !s.Follow {
		missing += ` && [ ! -L "$f" ]`
		link = `
if [ -L "$f" ]; then printf 'link_target=%s\n' "$(readlink -- "$f")"; fi`
	}
	return `f=` + quote(s.Path) + `
if ` + missing + `; then echo exists=0; exit 0; fi
t=$(stat ` + l + `-c %F -- "$f") || exit 1
echo exists=1
stat ` + l + `--printf 'type=%F\nmode=%a\nuid=%u\ngid=%g\nowner=%U\ngroup=%G\nsize=%s\nmtime=%Y\n' -- "$f" || exit 1` + link + sum
}

// statTypes maps stat's %F to the type recorded.
var statTypes = map[string]string{
	"regular file": "file", "regular empty file": "file", "directory": "directory", "symbolic link": "link",
	"fifo": "fifo", "socket": "socket", "character special file": "char", "block special file": "block",
}

// Run implements Kind.
func (s *Stat) Run(ctx context.Context, x *Exec) Result {
	if !strings.HasPrefix(s.Path, "/") {
		return Fail("", "stat: path %q must be absolute", s.Path)
	}
	script := s.script()
	out, err := runScript(ctx, x, "stat: "+s.Path, script)
	if err != nil {
		return Broken(script, err)
	}
	kv := keyValues(out)
	data := map[string]any{"path": s.Path, "exists": kv["exists"] == "1"}
	if kv["exists"] != "1" {
		if kv["exists"] != "0" {
			return Fail(script, "stat: %s: unexpected output %q", s.Path, out)
		}
		return Result{Status: OK, Command: script, Data: data}
	}
	data["type"] = statTypes[kv["type"]]
	if data["type"] == "" {
		data["type"] = "other"
	}
	m, err := strconv.ParseUint(kv["mode"], 8, 32)
	if err != nil {
		return Fail(script, "stat: %s: unexpected output %q", s.Path, out)
	}
	data["mode"] = fmt.Sprintf("%04o", m)
	data["owner"], data["group"] = kv["owner"], kv["group"]
	for _, k := range []string{"uid", "gid", "size", "mtime"} {
		n, err := strconv.ParseInt(kv[k], 10, 64)
		if err != nil {
			return Fail(script, "stat: %s: unexpected output %q", s.Path, out)
		}
		data[k] = n
	}
	for _, k := range []string{"sha256", "link_target"} {
		if v, ok := kv[k]; ok {
			data[k] = v
		}
	}
	if x.Sensitive {
		delete(data, "sha256")
	}
	return Result{Status: OK, Command: script, Data: data}
}

// Predict implements Predictor: stat only reads, so it runs as it is.
func (s *Stat) Predict(ctx context.Context, x *Exec) Result { return s.Run(ctx, x) }
