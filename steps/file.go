package steps

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/runbookhq/runbook/runbook"
)

func init() { register[File]("file") }

// File makes a path on the host be what the step says, as Ansible's file
// does: `file: {path, state, src, mode, owner, group, recurse, force}`.
//
//   - file (the default): the file exists (it is not made: use copy or
//     touch) and has the mode and owner given;
//   - directory: the directory exists, its parents made as needed; with
//     recurse the mode and owner go to everything under it as well;
//   - absent: nothing is at path any more (a directory goes with its
//     content);
//   - link: path is a symbolic link to src; a file in its way is replaced
//     only with force: true, a directory never;
//   - touch: the file exists, made empty if it was not; unlike touch(1)
//     an existing file's times are left alone, so the step is idempotent.
//
// Other than for link and absent, a symbolic link at path is followed.
// Mode is octal text ("0644"); without mode, owner and group an existing
// path keeps them. Each state changes nothing when the path is already
// right; check mode says what would change, and with Exec.Diff the change
// shows as a diff of the path's state and attributes.
type File struct {
	Path    string `yaml:"path" desc:"The path on the host." required:"true"`
	State   string `yaml:"state" desc:"file (default), directory, absent, link or touch." enum:"file,directory,absent,link,touch"`
	Src     string `yaml:"src" desc:"Target of the symbolic link (state: link)."`
	Mode    string `yaml:"mode" desc:"Permissions in octal, like \"0644\"."`
	Owner   string `yaml:"owner" desc:"Owner: a user name or uid."`
	Group   string `yaml:"group" desc:"Group: a group name or gid."`
	Recurse bool   `yaml:"recurse" desc:"state: directory: set mode, owner and group on everything under the path too."`
	Force   bool   `yaml:"force" desc:"state: link: replace a file that is in the link's way."`
}

func (f *File) state() string {
	if f.State == "" {
		return "file"
	}
	return f.State
}

func (f *File) attrs() fileAttrs { return fileAttrs{f.Mode, f.Owner, f.Group} }

// Validate implements runbook.StepSpec.
func (f *File) Validate(c *runbook.Check) {
	validateEditPath(c, "file", f.Path, f.attrs())
	switch f.state() {
	case "file", "directory", "touch":
	case "link":
		if f.Src == "" {
			c.Errorf("", "file: state: link needs src: (what the link points to)")
		}
		if f.Mode != "" {
			c.Errorf("mode", "file: a symbolic link has no mode of its own")
		}
	case "absent":
		if f.Mode != "" || f.Owner != "" || f.Group != "" {
			c.Errorf("state", "file: state: absent takes no mode, owner or group")
		}
	default:
		c.Errorf("state", "file: state %q: use file, directory, absent, link or touch", f.State)
	}
	if f.Src != "" && f.state() != "link" {
		c.Errorf("src", "file: src: goes with state: link")
	}
	if f.Recurse && f.state() != "directory" {
		c.Errorf("recurse", "file: recurse: goes with state: directory")
	}
	if f.Force && f.state() != "link" {
		c.Errorf("force", "file: force: goes with state: link")
	}
}

// Describe implements Kind.
func (f *File) Describe() string {
	s := "file: " + f.Path + " " + f.state()
	if f.state() == "link" {
		s += " -> " + f.Src
	}
	if f.Recurse {
		s += " (recursive)"
	}
	return s + f.attrs().describe()
}

// pathState is what the host says about a path.
type pathState struct {
	Kind          string // absent, file, dir, link, other
	Followed      string // for a link: the kind of what it points to
	Target        string // for a link: what it points to
	ParentMissing bool
	Mode          uint32
	UID, GID      string
	User, Group   string
	// RecurseDiffers says an entry under a directory has other attributes
	// than the step gives (only asked with recurse).
	RecurseDiffers bool
}

// fileInspectScript prints what inspectPath reads.
func fileInspectScript(p string, a fileAttrs, recurse bool) string {
	var find []string
	if a.Mode != "" {
		m, _ := parseMode(a.Mode)
		find = append(find, fmt.Sprintf("! -perm %04o", m))
	}
	if a.Owner != "" {
		find = append(find, "! -user "+quote(a.Owner))
	}
	if a.Group != "" {
		find = append(find, "! -group "+quote(a.Group))
	}
	s := `f=` + quote(p) + `
[ -d "$(dirname -- "$f")" ] || echo parent=missing
st() { printf 'stat=%s\n' "$(stat $1 -c '%a %u %g %U %G' -- "$f")"; }
kind() { if [ -d "$f" ]; then echo dir; elif [ -f "$f" ]; then echo file; elif [ -e "$f" ]; then echo other; else echo absent; fi; }
if [ -L "$f" ]; then
  echo kind=link
  printf 'target=%s\n' "$(readlink -- "$f")"
  echo "followed=$(kind)"
  st
  [ -e "$f" ] && printf 'followed_%s\n' "$(st -L)"
else
  k=$(kind)
  echo "kind=$k"
  [ "$k" = absent ] || st
fi`
	if recurse && len(find) > 0 {
		s += `
if [ -d "$f" ] && [ -n "$(find "$f" -mindepth 1 \( ` + strings.Join(find, " -o ") + ` \) -print 2>/dev/null | head -n 1)" ]; then echo recurse=differs; fi`
	}
	return s
}

// inspectPath asks the host about p.
// With follow, the attributes of a link are those of what it points to.
func inspectPath(ctx context.Context, x *Exec, p string, a fileAttrs, recurse, follow bool) (pathState, error) {
	out, err := runScript(ctx, x, "file: checking "+p, fileInspectScript(p, a, recurse))
	if err != nil {
		return pathState{}, err
	}
	kv := keyValues(out)
	s := pathState{Kind: kv["kind"], Followed: kv["followed"], Target: kv["target"],
		ParentMissing: kv["parent"] == "missing", RecurseDiffers: kv["recurse"] == "differs"}
	stat := kv["stat"]
	if s.Kind == "link" && follow {
		// What the link points to is the path for the step, as chmod and
		// chown see it.
		s.Kind, stat = s.Followed, kv["followed_stat"]
	}
	switch s.Kind {
	case "absent", "other":
		return s, nil
	case "file", "dir", "link":
	default:
		return s, fmt.Errorf("file: checking %s: unexpected output %q", p, out)
	}
	st := strings.Fields(stat)
	m, merr := strconv.ParseUint(firstOr(st, ""), 8, 32)
	if len(st) != 5 || merr != nil {
		return s, fmt.Errorf("file: checking %s: unexpected output %q", p, out)
	}
	s.Mode, s.UID, s.GID, s.User, s.Group = uint32(m), st[1], st[2], st[3], st[4]
	return s, nil
}

// kindName names a kind of path for messages.
var kindName = map[string]string{"absent": "nothing", "file": "a file", "dir": "a directory", "link": "a symbolic link", "other": "a special file"}

// Run implements Kind.
func (f *File) Run(ctx context.Context, x *Exec) Result { return f.apply(ctx, x, false) }

// Predict implements Predictor.
func (f *File) Predict(ctx context.Context, x *Exec) Result { return f.apply(ctx, x, true) }

func (f *File) apply(ctx context.Context, x *Exec, check bool) Result {
	if err := checkDest(f.Path); err != nil {
		return Fail("", "file: %s", strings.Replace(err.Error(), "dest", "path", 1))
	}
	if err := f.attrs().check(); err != nil {
		return Fail("", "file: %v", err)
	}
	inspect := fileInspectScript(f.Path, f.attrs(), f.Recurse)
	old, err := inspectPath(ctx, x, f.Path, f.attrs(), f.Recurse, f.state() != "link" && f.state() != "absent")
	if err != nil {
		return Broken(inspect, err)
	}
	data := map[string]any{"path": f.Path, "state": f.state(), "before": kindName[old.Kind]}
	script, changes, err := f.plan(old)
	if err != nil {
		return Result{Status: Failed, Command: inspect, Data: data, Err: fmt.Errorf("file: %w", err)}
	}
	data["changes"] = changes
	if len(changes) == 0 {
		return Result{Status: OK, Command: inspect, Data: data}
	}
	r := Result{Status: Changed, Command: inspect, Data: data}
	if x.Diff {
		r.Diff = textDiff(f.Path, describePath(old), f.describeAfter(old))
	}
	if check {
		return r
	}
	r.Command = script
	if _, err := runScript(ctx, x, "file: "+strings.Join(changes, ", ")+" "+f.Path, script); err != nil {
		r.Status, r.Err = Failed, err
	}
	return r
}

// plan returns the script that makes the path right and what it changes,
// or an error when the step must not go ahead.
func (f *File) plan(old pathState) (string, []string, error) {
	p := quote(f.Path)
	var cmds, changes []string
	kind := old.Kind
	switch f.state() {
	case "absent":
		if old.Kind != "absent" {
			return "rm -rf -- " + p, []string{"removed"}, nil
		}
		return "", nil, nil
	case "link":
		switch {
		case old.Kind == "link" && old.Target == f.Src:
		case old.Kind == "dir":
			return "", nil, fmt.Errorf("%s is a directory: it is not replaced by a link", f.Path)
		case old.Kind == "file" && !f.Force, old.Kind == "other" && !f.Force:
			return "", nil, fmt.Errorf("%s is %s: force: true replaces it with the link", f.Path, kindName[old.Kind])
		case old.ParentMissing:
			return "", nil, fmt.Errorf("directory of %s does not exist on the host", f.Path)
		default:
			cmds, changes = append(cmds, "ln -sfn -- "+quote(f.Src)+" "+p), append(changes, "link")
		}
		if own := f.ownerCommands("-h ", old, len(changes) > 0); own != "" {
			cmds, changes = append(cmds, own), append(changes, "owner")
		}
		return strings.Join(cmds, "\n"), changes, nil
	case "directory":
		switch kind {
		case "absent":
			cmds, changes = append(cmds, "mkdir -p -- "+p), append(changes, "created")
		case "dir":
		default:
			return "", nil, fmt.Errorf("%s is %s, not a directory", f.Path, kindName[kind])
		}
	case "file":
		switch kind {
		case "file":
		case "absent":
			return "", nil, fmt.Errorf("%s does not exist (state: touch makes an empty file, copy one with content)", f.Path)
		default:
			return "", nil, fmt.Errorf("%s is %s, not a file", f.Path, kindName[kind])
		}
	case "touch":
		switch kind {
		case "absent":
			if old.ParentMissing {
				return "", nil, fmt.Errorf("directory of %s does not exist on the host", f.Path)
			}
			cmds, changes = append(cmds, "touch -- "+p), append(changes, "created")
		case "file":
		default:
			return "", nil, fmt.Errorf("%s is %s, not a file", f.Path, kindName[kind])
		}
	}
	created := len(changes) > 0
	recurse := ""
	if f.Recurse {
		recurse = "-R "
	}
	if m, _ := parseMode(f.Mode); f.Mode != "" && (created || m != old.Mode || (f.Recurse && old.RecurseDiffers)) {
		cmds, changes = append(cmds, "chmod "+recurse+"-- "+quote(f.Mode)+" "+p), append(changes, "mode")
	}
	if own := f.ownerCommands(recurse, old, created); own != "" {
		cmds, changes = append(cmds, own), append(changes, "owner")
	}
	return strings.Join(cmds, "\n"), changes, nil
}

// ownerCommands is the chown or chgrp the path needs ("" for none);
// flags go before the names (-h for a link itself, -R for recurse).
func (f *File) ownerCommands(flags string, old pathState, created bool) string {
	owner := f.Owner != "" && (created || (f.Owner != old.User && f.Owner != old.UID) || (flags == "-R " && old.RecurseDiffers))
	group := f.Group != "" && (created || (f.Group != old.Group && f.Group != old.GID) || (flags == "-R " && old.RecurseDiffers))
	p := quote(f.Path)
	switch {
	case owner || (group && f.Owner != ""):
		spec := f.Owner
		if f.Group != "" {
			spec += ":" + f.Group
		}
		return "chown " + flags + "-- " + quote(spec) + " " + p
	case group:
		return "chgrp " + flags + "-- " + quote(f.Group) + " " + p
	}
	return ""
}

// describePath is a path's state as the diff shows it.
func describePath(s pathState) string {
	var b strings.Builder
	fmt.Fprintf(&b, "state: %s\n", map[string]string{"absent": "absent", "file": "file", "dir": "directory", "link": "link", "other": "special"}[s.Kind])
	switch s.Kind {
	case "link":
		fmt.Fprintf(&b, "src: %s\nowner: %s\ngroup: %s\n", s.Target, s.User, s.Group)
	case "file", "dir":
		fmt.Fprintf(&b, "mode: %04o\nowner: %s\ngroup: %s\n", s.Mode, s.User, s.Group)
	}
	return b.String()
}

// describeAfter is the path's state once the step has run, as the diff
// shows it.
func (f *File) describeAfter(old pathState) string {
	switch f.state() {
	case "absent":
		return "state: absent\n"
	}
	after := old
	created := after.Kind == "absent"
	switch {
	case f.state() == "link" && (old.Kind != "link" || old.Target != f.Src):
		after = pathState{Kind: "link", Target: f.Src, User: old.User, Group: old.Group}
		created = old.Kind != "link"
	case created:
		after.Kind = map[string]string{"directory": "dir", "touch": "file"}[f.state()]
	}
	text := describePath(after)
	if m, err := parseMode(f.Mode); f.Mode != "" && err == nil {
		text = replaceLine(text, "mode: ", fmt.Sprintf("%04o", m))
	} else if created && after.Kind != "link" {
		text = replaceLine(text, "mode: ", "(from the umask)")
	}
	for _, v := range []struct{ field, want, def string }{{"owner: ", f.Owner, "(the step's user)"}, {"group: ", f.Group, "(the step's group)"}} {
		if v.want != "" {
			text = replaceLine(text, v.field, v.want)
		} else if created {
			text = replaceLine(text, v.field, v.def)
		}
	}
	return text
}

// replaceLine sets the value of the line starting with field in text.
func replaceLine(text, field, value string) string {
	lines := strings.SplitAfter(text, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, field) {
			lines[i] = field + value + "\n"
		}
	}
	return strings.Join(lines, "")
}
