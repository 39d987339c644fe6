package steps

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/runbookhq/runbook/runbook"
)

func init() { register[Copy]("copy") }

// Copy puts a file on the host: `copy: {src or content, dest, mode, owner,
// group}`. It compares the SHA-256 of the host's file with the wanted
// content and changes nothing when they match and mode, owner and group
// are already right (in check mode it stops there and says what would
// change; with Exec.Diff it shows the change). Otherwise the content goes
// over SFTP to a private temporary directory, is copied beside dest and
// moved over it in one rename, so that no reader ever sees half a file. A symlink at dest is
// replaced by a regular file. The mode is octal text ("0644", or 644, read
// as octal too); without it an existing file keeps its mode and a new one
// gets 0644; without owner and group an existing file keeps them. Like
// every string of a step, content: may hold {{ }}; a src: file is copied
// as it is (template: renders a file).
type Copy struct {
	Src     string  `yaml:"src" desc:"Local file, relative to the runbook (or module) file."`
	Content *string `yaml:"content" desc:"The file's content, instead of src."`
	Dest    string  `yaml:"dest" desc:"Path of the file on the host." required:"true"`
	Mode    string  `yaml:"mode" desc:"Permissions in octal, like \"0644\"."`
	Owner   string  `yaml:"owner" desc:"Owner: a user name or uid."`
	Group   string  `yaml:"group" desc:"Group: a group name or gid."`
}

// Validate implements runbook.StepSpec.
func (c *Copy) Validate(ch *runbook.Check) {
	validateFileSpec(ch, "copy", c.Src, c.Content != nil, c.Dest, fileAttrs{c.Mode, c.Owner, c.Group})
}

// Describe implements Kind.
func (c *Copy) Describe() string {
	src := c.Src
	if c.Content != nil {
		src = fmt.Sprintf("content (%d bytes)", len(*c.Content))
	}
	return "copy: " + src + " -> " + c.Dest + fileAttrs{c.Mode, c.Owner, c.Group}.describe()
}

// Run implements Kind.
func (c *Copy) Run(ctx context.Context, x *Exec) Result { return c.put(ctx, x, false) }

// Predict implements Predictor.
func (c *Copy) Predict(ctx context.Context, x *Exec) Result { return c.put(ctx, x, true) }

func (c *Copy) put(ctx context.Context, x *Exec, check bool) Result {
	var content []byte
	if c.Content != nil {
		content = []byte(*c.Content)
	} else {
		b, err := os.ReadFile(localPath(x, c.Src))
		if err != nil {
			return Fail("", "copy: reading src: %v", err)
		}
		content = b
	}
	return putFileWith(ctx, x, "copy", content, c.Dest, fileAttrs{c.Mode, c.Owner, c.Group}, writeOpts{check: check})
}

// fileAttrs are the mode, owner and group a file should have; "" leaves
// that attribute as it is (a new file gets mode 0644 and the owner that
// creates it).
type fileAttrs struct{ Mode, Owner, Group string }

func (a fileAttrs) describe() string {
	var parts []string
	if a.Mode != "" {
		parts = append(parts, a.Mode)
	}
	switch {
	case a.Owner != "" && a.Group != "":
		parts = append(parts, a.Owner+":"+a.Group)
	case a.Owner != "":
		parts = append(parts, a.Owner)
	case a.Group != "":
		parts = append(parts, ":"+a.Group)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, " ") + ")"
}

// check reports what is wrong with rendered attributes.
func (a fileAttrs) check() error {
	if a.Mode != "" {
		if _, err := parseMode(a.Mode); err != nil {
			return err
		}
	}
	for _, v := range []string{a.Owner, a.Group} {
		if strings.ContainsAny(v, ": \t\n/") {
			return fmt.Errorf("owner and group are one name or number each, got %q", v)
		}
	}
	return nil
}

// checkDest reports what is wrong with a rendered destination path.
func checkDest(dest string) error {
	switch {
	case dest == "":
		return fmt.Errorf("dest is empty")
	case !strings.HasPrefix(dest, "/"):
		return fmt.Errorf("dest %q must be an absolute path", dest)
	case strings.HasSuffix(dest, "/") || path.Clean(dest) == "/":
		return fmt.Errorf("dest %q must name a file, not a directory", dest)
	case strings.ContainsAny(dest, "\n\x00"):
		return fmt.Errorf("dest %q contains a newline", dest)
	}
	return nil
}

// validateFileSpec checks the fields copy and template share, at load
// time: values holding {{ }} are checked again once rendered.
func validateFileSpec(ch *runbook.Check, kind, src string, hasContent bool, dest string, a fileAttrs) {
	if (src == "") == !hasContent {
		ch.Errorf("", "%s: give either src: (a local file) or content:", kind)
	}
	if dest == "" {
		ch.Errorf("", "%s: needs dest: (the path on the host)", kind)
	} else if !runbook.HasTemplate(dest) {
		if err := checkDest(dest); err != nil {
			ch.Errorf("dest", "%s: %v", kind, err)
		}
	}
	if a.Mode != "" && !runbook.HasTemplate(a.Mode) {
		if _, err := parseMode(a.Mode); err != nil {
			ch.Errorf("mode", "%s: %v", kind, err)
		}
	}
}

// remoteFile is what the host says about a path.
type remoteFile struct {
	Kind          string // absent, file, link, dir or other
	ParentMissing bool
	SHA256        string
	Mode          uint32
	UID, GID      string
	User, Group   string
}

// inspectScript prints what inspectFile reads.
func inspectScript(p string) string {
	return `f=` + quote(p) + `
[ -d "$(dirname -- "$f")" ] || echo parent=missing
if [ -L "$f" ]; then echo kind=link
elif [ -d "$f" ]; then echo kind=dir
elif [ -f "$f" ]; then
  s=$(sha256sum < "$f") || exit 1
  echo kind=file
  echo "sha256=${s%% *}"
  printf 'stat=%s\n' "$(stat -c '%a %u %g %U %G' -- "$f")"
elif [ -e "$f" ]; then echo kind=other
else echo kind=absent
fi`
}

// inspectFile asks the host about p (with the step's become).
func inspectFile(ctx context.Context, x *Exec, p string) (remoteFile, error) {
	out, err := runScript(ctx, x, "checking "+p, inspectScript(p))
	if err != nil {
		return remoteFile{}, err
	}
	kv := keyValues(out)
	f := remoteFile{Kind: kv["kind"], ParentMissing: kv["parent"] == "missing", SHA256: kv["sha256"]}
	switch f.Kind {
	case "absent", "link", "dir", "other":
	case "file":
		st := strings.Fields(kv["stat"])
		m, merr := strconv.ParseUint(firstOr(st, ""), 8, 32)
		if !isSHA256(f.SHA256) || len(st) != 5 || merr != nil {
			return f, fmt.Errorf("checking %s: unexpected output %q", p, out)
		}
		f.Mode, f.UID, f.GID, f.User, f.Group = uint32(m), st[1], st[2], st[3], st[4]
	default:
		return f, fmt.Errorf("checking %s: unexpected output %q", p, out)
	}
	return f, nil
}

func firstOr(s []string, def string) string {
	if len(s) == 0 {
		return def
	}
	return s[0]
}

// differences lists which of content, mode, owner and group of f differ
// from what is wanted.
func (f remoteFile) differences(sum string, a fileAttrs) []string {
	if f.Kind != "file" {
		return []string{"content"}
	}
	d := []string{}
	if f.SHA256 != sum {
		d = append(d, "content")
	}
	if a.Mode != "" {
		if m, _ := parseMode(a.Mode); m != f.Mode {
			d = append(d, "mode")
		}
	}
	if a.Owner != "" && a.Owner != f.User && a.Owner != f.UID {
		d = append(d, "owner")
	}
	if a.Group != "" && a.Group != f.Group && a.Group != f.GID {
		d = append(d, "group")
	}
	return d
}

// installScript writes the staged file over dest in one rename, with the
// wanted (or the old file's) mode and ownership, and prints its checksum.
func installScript(staged, dest string, old remoteFile, a fileAttrs) string {
	mode, owner, group := a.Mode, a.Owner, a.Group
	if old.Kind == "file" {
		if mode == "" {
			mode = fmt.Sprintf("%04o", old.Mode)
		}
		if owner == "" {
			owner = old.UID
		}
		if group == "" {
			group = old.GID
		}
	}
	if mode == "" {
		mode = "0644"
	}
	var b strings.Builder
	b.WriteString("set -e\nf=" + quote(dest) + "\n")
	b.WriteString(`t=$(mktemp "$f.rb-tmp-XXXXXX")` + "\n")
	b.WriteString(`trap 'rm -f "$t"' EXIT` + "\n")
	b.WriteString(`cat ` + quote(staged) + ` > "$t"` + "\n")
	b.WriteString(attrCommands(`"$t"`, fileAttrs{mode, owner, group}))
	b.WriteString(`mv -f "$t" "$f"` + "\ntrap - EXIT\n")
	b.WriteString(`s=$(sha256sum < "$f")` + "\n" + `echo "sha256=${s%% *}"`)
	return b.String()
}

// attrCommands sets mode and ownership of target (already quoted).
func attrCommands(target string, a fileAttrs) string {
	var b strings.Builder
	if a.Mode != "" {
		b.WriteString("chmod " + quote(a.Mode) + " " + target + "\n")
	}
	switch {
	case a.Owner != "" && a.Group != "":
		b.WriteString("chown " + quote(a.Owner+":"+a.Group) + " " + target + "\n")
	case a.Owner != "":
		b.WriteString("chown " + quote(a.Owner) + " " + target + "\n")
	case a.Group != "":
		b.WriteString("chgrp " + quote(a.Group) + " " + target + "\n")
	}
	return b.String()
}

// putFile makes dest on the host hold content with attributes a, changing
// only what differs: the work of copy, template and apt_repository. When
// the step carries a secret, the content's checksums stay out of the
// result's data (a short secret could be found again from its hash).
func putFile(ctx context.Context, x *Exec, kind string, content []byte, dest string, a fileAttrs) Result {
	return putFileWith(ctx, x, kind, content, dest, a, writeOpts{})
}

// writeOpts change how writeFile goes about it.
type writeOpts struct {
	// check withholds every change: the result says what would change.
	check bool
	// read is the file as an editing kind read it, its content edited into
	// the new one: writeFile refuses to write when the file changed since,
	// and diffs against it.
	read *hostFile
}

// putFileWith is putFile with options.
func putFileWith(ctx context.Context, x *Exec, kind string, content []byte, dest string, a fileAttrs, opts writeOpts) Result {
	r := writeFile(ctx, x, kind, content, dest, a, opts)
	if x.Sensitive {
		withholdSums(x, r.Data)
		if r.Err != nil && strings.Contains(r.Err.Error(), "sha256") {
			r.Err = fmt.Errorf("%s: %s does not hold the content written (checksums withheld: the step carries a secret)", kind, dest)
		}
	}
	return r
}

func writeFile(ctx context.Context, x *Exec, kind string, content []byte, dest string, a fileAttrs, opts writeOpts) Result {
	if err := checkDest(dest); err != nil {
		return Fail("", "%s: %v", kind, err)
	}
	if err := a.check(); err != nil {
		return Fail("", "%s: %v", kind, err)
	}
	sum := sha256Hex(content)
	check := inspectScript(dest)
	old, err := inspectFile(ctx, x, dest)
	if err != nil {
		return Broken(check, fmt.Errorf("%s: %w", kind, err))
	}
	data := map[string]any{"dest": dest, "sha256_before": old.SHA256, "sha256": sum, "size": len(content)}
	if old.ParentMissing {
		return Result{Status: Failed, Command: check, Data: data,
			Err: fmt.Errorf("%s: directory %s does not exist on the host", kind, path.Dir(dest))}
	}
	if old.Kind == "dir" || old.Kind == "other" {
		return Result{Status: Failed, Command: check, Data: data,
			Err: fmt.Errorf("%s: %s is a %s on the host, not a file", kind, dest, map[string]string{"dir": "directory", "other": "special file"}[old.Kind])}
	}
	if opts.read != nil && !opts.read.same(old) {
		return Result{Status: Failed, Command: check, Data: data,
			Err: fmt.Errorf("%s: %s changed on the host while the step edited it; nothing written, run the step again", kind, dest)}
	}
	diffs := old.differences(sum, a)
	data["changes"] = diffs
	if len(diffs) == 0 {
		data["sha256_after"] = sum
		return Result{Status: OK, Command: check, Data: data}
	}
	var diff string
	if x.Diff && diffs[0] == "content" {
		diff = contentDiff(ctx, x, dest, old, content, opts.read)
	}
	if opts.check {
		return Result{Status: Changed, Command: check, Data: data, Diff: diff}
	}
	r := applyFile(ctx, x, kind, content, dest, a, old, diffs, data)
	r.Diff = diff
	return r
}

// contentDiff is the diff of the file at dest (old) to content.
func contentDiff(ctx context.Context, x *Exec, dest string, old remoteFile, content []byte, read *hostFile) string {
	switch {
	case read != nil:
		return fileDiff(x, dest, read.Content, content, read.Kind == "file", true)
	case old.Kind != "file":
		return fileDiff(x, dest, nil, content, false, true)
	}
	hf, err := readHostFile(ctx, x, dest)
	if err != nil {
		return diffNote(dest+" (before)", dest+" (after)", "content differs (the old content could not be read: "+err.Error()+")")
	}
	return fileDiff(x, dest, hf.Content, content, true, true)
}

// applyFile changes what diffs lists: the attributes alone with chmod and
// chown, or the content (and the attributes) by installing a new file.
func applyFile(ctx context.Context, x *Exec, kind string, content []byte, dest string, a fileAttrs, old remoteFile, diffs []string, data map[string]any) Result {
	sum := sha256Hex(content)
	if diffs[0] != "content" {
		script := "set -e\n" + attrCommands(quote(dest), a)
		if _, err := runScript(ctx, x, kind+": setting mode and ownership of "+dest, script); err != nil {
			return Result{Status: Failed, Command: script, Data: data, Err: err}
		}
		data["sha256_after"] = sum
		return Result{Status: Changed, Command: script, Data: data}
	}
	if old.Kind == "link" {
		data["replaced_symlink"] = true
	}
	st, err := stage(ctx, x, path.Base(dest), bytes.NewReader(content), 0o600)
	if err != nil {
		return Result{Status: Failed, Data: data, Err: fmt.Errorf("%s: %w", kind, err)}
	}
	defer st.remove(ctx)
	script := installScript(st.path, dest, old, a)
	out, err := runScript(ctx, x, kind+": installing "+dest, script)
	if err != nil {
		return Result{Status: Failed, Command: script, Data: data, Err: err}
	}
	after := keyValues(out)["sha256"]
	data["sha256_after"] = after
	if after != sum {
		return Result{Status: Failed, Command: script, Data: data,
			Err: fmt.Errorf("%s: %s has sha256 %s after writing, want %s", kind, dest, after, sum)}
	}
	return Result{Status: Changed, Command: script, Data: data}
}
