package steps

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/transport"
)

func init() { register[AptRepository]("apt_repository") }

// Where apt_repository writes.
const (
	AptSourcesDir = "/etc/apt/sources.list.d"
	AptKeyringDir = "/etc/apt/keyrings"
)

// AptRepository writes one apt source, /etc/apt/sources.list.d/NAME.list,
// holding line: `apt_repository: {name, line, key_url, state}`. The file
// is replaced in one rename with become, and only when its content
// differs. The data records the file's previous content ("previous_exists",
// "previous_content"), so that a rollback can put it back.
//
// key_url is fetched only when the key file is missing (so a run needs no
// network when nothing changed, and a rollback can restore a repo line
// offline): curl, then gpg --dearmor when it is ASCII-armoured, into
// key_path — by default the line's signed-by= path, else
// /etc/apt/keyrings/NAME.gpg. Delete the key file to fetch it again.
// update_cache runs apt-get update for this source alone after a change.
// state: absent removes the .list file (not the key).
type AptRepository struct {
	Name        string `yaml:"name" desc:"File name under /etc/apt/sources.list.d, without .list." required:"true"`
	Line        string `yaml:"line" desc:"The source line, e.g. deb [signed-by=...] https://... /"`
	KeyURL      string `yaml:"key_url" desc:"URL of the repository's signing key, fetched when the key file is missing."`
	KeyPath     string `yaml:"key_path" desc:"Where the key goes (default: the line's signed-by= path, else /etc/apt/keyrings/NAME.gpg)."`
	State       string `yaml:"state" desc:"present (default) or absent." enum:"present,absent"`
	UpdateCache bool   `yaml:"update_cache" desc:"Run apt-get update for this source after a change."`
}

var (
	repoNameRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]*$`) })
	signedByRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`signed-by=([^\s\]]+)`) })
)

// Validate implements runbook.StepSpec.
func (a *AptRepository) Validate(c *runbook.Check) {
	if a.Name == "" {
		c.Errorf("", "apt_repository: needs name: (the file is /etc/apt/sources.list.d/NAME.list)")
	} else if !runbook.HasTemplate(a.Name) && !repoNameRe().MatchString(a.Name) {
		c.Errorf("name", "apt_repository: name %q: use letters, digits, '.', '_' and '-'", a.Name)
	}
	switch a.State {
	case "", "present":
		if a.Line == "" {
			c.Errorf("", "apt_repository: needs line: (the source line)")
		}
	case "absent":
		if a.Line != "" || a.KeyURL != "" {
			c.Errorf("state", "apt_repository: state: absent takes no line or key_url")
		}
	default:
		c.Errorf("state", "apt_repository: state %q: use present or absent", a.State)
	}
	if strings.Contains(a.Line, "\n") {
		c.Errorf("line", "apt_repository: line: one line only")
	}
	if a.KeyPath != "" && !runbook.HasTemplate(a.KeyPath) && !strings.HasPrefix(a.KeyPath, "/") {
		c.Errorf("key_path", "apt_repository: key_path %q must be absolute", a.KeyPath)
	}
}

func (a *AptRepository) path() string { return AptSourcesDir + "/" + a.Name + ".list" }

func (a *AptRepository) keyPath() string {
	if a.KeyPath != "" {
		return a.KeyPath
	}
	if m := signedByRe().FindStringSubmatch(a.Line); m != nil {
		return m[1]
	}
	return AptKeyringDir + "/" + a.Name + ".gpg"
}

// Describe implements Kind.
func (a *AptRepository) Describe() string {
	if a.State == "absent" {
		return "apt_repository: remove " + a.path()
	}
	s := fmt.Sprintf("apt_repository: %s = %q", a.path(), a.Line)
	if a.KeyURL != "" {
		s += ", key " + a.keyPath() + " from " + a.KeyURL + " if missing"
	}
	if a.UpdateCache {
		s += ", update cache"
	}
	return s
}

// repoReadScript prints key=present|absent|none, then file=present|absent,
// then the file's content.
func repoReadScript(file, key string) string {
	s := "k=none\n"
	if key != "" {
		s = "k=absent\n[ -s " + quote(key) + " ] && k=present\n"
	}
	return s + `echo "key=$k"
f=` + quote(file) + `
if [ -f "$f" ]; then echo file=present; cat "$f"; else echo file=absent; fi`
}

// keyFetchScript fetches the key at url into key in one rename,
// de-armouring it when it is ASCII-armoured.
func keyFetchScript(url, key string) string {
	return `set -e
k=` + quote(key) + `
mkdir -p "$(dirname -- "$k")"
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
curl -fsSL --max-time 120 -o "$t/key" -- ` + quote(url) + `
if grep -q -- '-----BEGIN PGP' "$t/key"; then
  gpg --batch --quiet --homedir "$t" --dearmor -o "$t/key.gpg" "$t/key"
else
  cp "$t/key" "$t/key.gpg"
fi
n=$(mktemp "$k.rb-tmp-XXXXXX")
cat "$t/key.gpg" > "$n"
chmod 0644 "$n"
mv -f "$n" "$k"`
}

// aptUpdateOneCommand refreshes the lists of one source file only.
func aptUpdateOneCommand(name string, x *Exec) string {
	return aptUpdateCommand(x.Timeout) + " -o " + quote("Dir::Etc::sourcelist=sources.list.d/"+name+".list") +
		" -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0"
}

// Run implements Kind.
func (a *AptRepository) Run(ctx context.Context, x *Exec) Result { return a.run(ctx, x, false) }

// Predict implements Predictor: the file is read and compared, and
// nothing is fetched, written, removed or updated.
func (a *AptRepository) Predict(ctx context.Context, x *Exec) Result { return a.run(ctx, x, true) }

// run is Run, or Predict when check is set.
func (a *AptRepository) run(ctx context.Context, x *Exec, check bool) Result {
	if !repoNameRe().MatchString(a.Name) {
		return Fail("", "apt_repository: name %q: use letters, digits, '.', '_' and '-'", a.Name)
	}
	present := a.State != "absent"
	if present && (a.Line == "" || strings.ContainsAny(a.Line, "\n\x00")) {
		return Fail("", "apt_repository: line must be one non-empty line, got %q", a.Line)
	}
	key := ""
	if present && a.KeyURL != "" {
		key = a.keyPath()
		if !strings.HasPrefix(key, "/") {
			return Fail("", "apt_repository: key path %q must be absolute", key)
		}
	}
	read := repoReadScript(a.path(), key)
	out, err := runScript(ctx, x, "apt_repository: reading "+a.path(), read)
	if err != nil {
		return Broken(read, err)
	}
	head, content, _ := strings.Cut(out, "\n")
	fileLine, content, _ := strings.Cut(content, "\n")
	if !strings.HasPrefix(head, "key=") || !strings.HasPrefix(fileLine, "file=") {
		return Fail(read, "apt_repository: unexpected output %q", out)
	}
	existed := fileLine == "file=present"
	if !existed {
		content = ""
	}
	data := map[string]any{"path": a.path(), "previous_exists": existed, "previous_content": content}
	var cmds []string
	changed := false
	var diff string
	if key != "" && head != "key=present" {
		script := keyFetchScript(a.KeyURL, key)
		cmds = append(cmds, script)
		if !check {
			if _, err := runScript(ctx, x, "apt_repository: fetching the key "+a.KeyURL+" into "+key, script); err != nil {
				return Result{Status: Failed, Command: script, Data: data, Err: err}
			}
		}
		data["key_path"], data["key_fetched"] = key, !check
		changed = true
	}
	if present {
		data["content"] = a.Line + "\n"
		res := putFileWith(ctx, x, "apt_repository", []byte(a.Line+"\n"), a.path(), fileAttrs{Mode: "0644"}, writeOpts{check: check})
		cmds = append(cmds, res.Command)
		if res.Status == Failed {
			res.Data, res.Command = data, strings.Join(cmds, "\n")
			return res
		}
		changed = changed || res.Status == Changed
		diff = res.Diff
	} else if existed {
		script := "rm -f -- " + quote(a.path())
		cmds = append(cmds, script)
		if !check {
			if _, err := runScript(ctx, x, "apt_repository: removing "+a.path(), script); err != nil {
				return Result{Status: Failed, Command: script, Data: data, Err: err}
			}
		}
		if x.Diff {
			diff = fileDiff(x, a.path(), []byte(content), nil, true, false)
		}
		changed = true
	}
	if check {
		status := map[bool]string{true: Changed, false: OK}[changed]
		if changed && a.UpdateCache {
			data["cache_update_withheld"] = true
		}
		return Result{Status: status, Command: read, Data: data, Diff: diff}
	}
	if changed && a.UpdateCache {
		if r := a.update(ctx, x); r.Status == Failed {
			r.Data, r.Command = data, strings.Join(append(cmds, r.Command), "\n")
			return r
		}
		cmds = append(cmds, aptUpdateOneCommand(a.Name, x))
	}
	if !changed {
		return Result{Status: OK, Command: read, Data: data}
	}
	return Result{Status: Changed, Command: strings.Join(cmds, "\n"), Data: data, Diff: diff}
}

func (a *AptRepository) update(ctx context.Context, x *Exec) Result {
	cmd := aptUpdateOneCommand(a.Name, x)
	if a.State == "absent" {
		cmd = aptUpdateCommand(x.Timeout)
	}
	out, errOut, rc, _, err := x.capture(ctx, transport.Command{Shell: cmd, Env: aptEnv}, 1<<20)
	if err != nil {
		return Broken(cmd, fmt.Errorf("apt_repository: %w", err))
	}
	if rc != 0 {
		return Result{Status: Failed, RC: &rc, Command: cmd, Err: aptError(rc, out, errOut)}
	}
	return Result{Status: Changed, RC: &rc, Command: cmd}
}
