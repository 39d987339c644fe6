package steps

import (
	"context"
	"fmt"
	"os"
	"path"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/transport"
)

func init() { register[Restore]("restore") }

// Restore extracts a backup taken earlier in the run on the same host over
// /: `restore: NAME` or `restore: {backup: NAME}`. It uses the host's copy
// when it is there with the recorded SHA-256; otherwise it uploads the
// controller's copy (after checking that copy's SHA-256 against the
// record), puts it back at the host path, checks it again there, and
// extracts that. A checksum that does not match the record is always
// refused. Files created after the backup are left alone: tar puts back
// what the archive holds and deletes nothing. It reports changed.
type Restore struct {
	Backup string `yaml:"backup" desc:"Name of a backup step's backup on this host." required:"true"`
}

// DecodeYAML implements runbook.YAMLDecoder.
func (r *Restore) DecodeYAML(d *runbook.Decoder, n *yaml.Node) {
	if n.Kind == yaml.ScalarNode {
		r.Backup, _ = d.Scalar(n, "a backup name")
		return
	}
	d.DecodeFields(n, r)
}

// JSONSchema implements runbook.SchemaProvider.
func (*Restore) JSONSchema(g *runbook.SchemaGen) map[string]any {
	return scalarOr(g, Restore{}, "Name of the backup to restore.")
}

// Validate implements runbook.StepSpec.
func (r *Restore) Validate(c *runbook.Check) {
	if r.Backup == "" {
		c.Errorf("", "restore: needs the name of a backup")
	}
}

// Describe implements Kind.
func (r *Restore) Describe() string { return "restore: " + r.Backup + " over /" }

// hostSumScript prints sha256= of file, or absent=1.
func hostSumScript(file string) string {
	return `f=` + quote(file) + `
if [ -f "$f" ]; then s=$(sha256sum < "$f") || exit 1; echo "sha256=${s%% *}"; else echo absent=1; fi`
}

// Run implements Kind.
func (r *Restore) Run(ctx context.Context, x *Exec) Result {
	if x.Backup == nil {
		return Fail("", "restore: no backups are known to this run")
	}
	rec, ok := x.Backup(r.Backup)
	if !ok {
		return Fail("", "restore: no backup named %q was taken on %s in this run", r.Backup, x.Host)
	}
	// Not "backup": the engine takes a step's data with that key for a new
	// backup record.
	data := map[string]any{"restored": r.Backup, "remote": rec.Remote, "sha256": rec.SHA256}
	fail := func(cmd string, err error) Result {
		return Result{Status: Failed, Command: cmd, Data: data, Err: fmt.Errorf("restore %s: %w", r.Backup, err)}
	}
	if !isSHA256(rec.SHA256) || !strings.HasPrefix(rec.Remote, "/") {
		return fail("", fmt.Errorf("the recorded backup is incomplete: %+v", rec))
	}
	check := hostSumScript(rec.Remote)
	out, err := runScript(ctx, x, "checking the host's copy "+rec.Remote, check)
	if err != nil {
		return fail(check, err)
	}
	hostSum := keyValues(out)["sha256"]
	switch {
	case hostSum == rec.SHA256:
		data["source"] = "host"
	case hostSum == "":
		data["source"], data["host_copy"] = "controller", "absent"
	default:
		data["source"], data["host_copy"] = "controller", "sha256 "+hostSum
	}
	if hostSum != rec.SHA256 {
		if cmd, err := r.putBack(ctx, x, rec); err != nil {
			return fail(cmd, err)
		}
	}
	extract := "tar -xzpf " + quote(rec.Remote) + " -C /"
	res, err := x.Run(ctx, transport.Command{Shell: extract})
	if err != nil {
		return Broken(extract, fmt.Errorf("restore %s: %w", r.Backup, err))
	}
	out2 := Exit(res.ExitCode, Changed, extract)
	out2.Data = data
	if out2.Err != nil {
		out2.Err = fmt.Errorf("restore %s: extracting %s: %w", r.Backup, rec.Remote, out2.Err)
	}
	return out2
}

// putBack uploads the controller's copy of the backup to its place on the
// host, refusing a copy whose checksum differs from the record, and checks
// the result there.
func (r *Restore) putBack(ctx context.Context, x *Exec, rec BackupRecord) (string, error) {
	sum, _, err := fileSHA256(rec.Local)
	if err != nil {
		return "", fmt.Errorf("the host's copy is gone or changed, and the controller's copy cannot be read: %w", err)
	}
	if sum != rec.SHA256 {
		return "", fmt.Errorf("refusing the controller's copy %s: its sha256 is %s but the backup recorded %s", rec.Local, sum, rec.SHA256)
	}
	f, err := os.Open(rec.Local)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := stage(ctx, x, path.Base(rec.Remote), f, 0o600)
	if err != nil {
		return "", err
	}
	defer st.remove(ctx)
	dir := path.Dir(rec.Remote)
	script := `set -e
umask 077
mkdir -p ` + quote(dir) + `
f=` + quote(rec.Remote) + `
cat ` + quote(st.path) + ` > "$f.tmp"
mv -f "$f.tmp" "$f"
s=$(sha256sum < "$f")
echo "sha256=${s%% *}"`
	out, err := runScript(ctx, x, "putting the controller's copy back at "+rec.Remote, script)
	if err != nil {
		return script, err
	}
	if got := keyValues(out)["sha256"]; got != rec.SHA256 {
		return script, fmt.Errorf("refusing the uploaded copy %s: its sha256 is %s but the backup recorded %s", rec.Remote, got, rec.SHA256)
	}
	return script, nil
}
