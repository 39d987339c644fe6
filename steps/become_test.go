package steps

import (
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestBecomeOtherUser runs copy, template and script as a become user
// other than root (nobody), who cannot read the login user's private
// staging directory: the file reaches the host through that user's own.
func TestBecomeOtherUser(t *testing.T) {
	nobody, err := user.Lookup("nobody")
	if err != nil || !isRoot() {
		t.Skip("needs root and a user nobody")
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	n := 0
	for _, tg := range targets(t) {
		if !tg.become {
			continue
		}
		n++
		t.Run(tg.name, func(t *testing.T) {
			dir, err := os.MkdirTemp("", "runbook-steps-nobody-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			os.Chown(dir, uid, gid)
			os.Chmod(dir, 0o755)
			x := newExec(t, tg.tr, true)
			x.BecomeUser = "nobody"
			dest := filepath.Join(dir, "app.conf")
			wantStatus(t, run(t, mustKind(t, `copy: {content: "secret=1\n", dest: "`+dest+`", mode: "0600"}`), x), Changed)
			if got := readOwner(t, dest); got != nobody.Uid+":"+nobody.Gid {
				t.Errorf("owner %s, want nobody's", got)
			}
			wantStatus(t, run(t, mustKind(t, `copy: {content: "secret=1\n", dest: "`+dest+`", mode: "0600"}`), x), OK)

			os.WriteFile(filepath.Join(x.BaseDir, "whoami.sh"), []byte("id -un\n"), 0o600)
			wantStatus(t, run(t, mustKind(t, `script: whoami.sh`), x), Changed)
			if out := x.Stdout.(*lockedBuffer).String(); !strings.Contains(out, "nobody\n") {
				t.Errorf("script ran as %q", out)
			}
		})
	}
	if n == 0 {
		t.Skip("no target with become")
	}
}
