package containers

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runbookhq/runbook/runbook/transport"
	"github.com/runbookhq/runbook/steps"
)

// treeListing lists a tree as ls would show it: name, type, owner,
// group, mode, link target and content checksum of each entry.
const treeListing = `find /srv/data /etc/rbdemo -exec stat -c '%n %F %U %G %a %N' {} + | sort
find /srv/data /etc/rbdemo -type f -exec sha256sum {} + | sort`

// TestBackupRestoreOnDebian backs up files of several owners and modes, a
// symlink and a directory, changes all of them, and restores them from the
// host's copy, then from the controller's once the host's is gone.
func TestBackupRestoreOnDebian(t *testing.T) {
	h := dialStepHost(t, sharedLab(t), "files", LoginUser, nil)
	h.sh(`rm -rf /srv/data && mkdir -p /srv/data/sub && cd /srv/data
printf 'secret\n' > key && chown rbpw:rbpw key && chmod 0640 key
printf 'x\n' > 'with space' && chmod 0600 'with space'
chown runbook:runbook sub && chmod 0750 sub && printf 'y\n' > sub/y
ln -s key link && ln -s /etc/rbdemo/rbdemo.conf conf-link`)
	before := h.sh(treeListing)
	r := h.step(`backup: {name: data, paths: [/srv/data, /etc/rbdemo]}`, steps.Changed)
	if _, ok := h.backups["data"]; !ok {
		t.Fatalf("no backup recorded: %v", r.Data)
	}
	mess := `cd /srv/data && printf 'changed\n' > key && chown root:root key && chmod 0777 key
rm link && printf 'not a link\n' > link && rm -rf sub && rm 'with space'
printf 'edited\n' >> /etc/rbdemo/rbdemo.conf && chmod 0600 /etc/rbdemo/rbdemo.conf`
	h.sh(mess)
	h.step(`restore: {backup: data}`, steps.Changed)
	if got := h.sh(treeListing); got != before {
		t.Errorf("after restore:\n%s\nbefore:\n%s", got, before)
	}
	// Without the host's copy, the controller's is uploaded.
	h.sh(mess + "\nrm -f " + h.backups["data"].Remote)
	r = h.step(`restore: {backup: data}`, steps.Changed)
	if got := h.sh(treeListing); got != before {
		t.Errorf("after restore from the controller's copy (%v):\n%s\nbefore:\n%s", r.Data, got, before)
	}
}

// TestCopyTemplateFetchOnDebian copies a file with an owner and mode (and
// again, unchanged), renders a template for the node, and fetches a file.
func TestCopyTemplateFetchOnDebian(t *testing.T) {
	h := dialStepHost(t, sharedLab(t), "files", LoginUser, nil)
	copyStep := `copy: {content: "level = 3\n", dest: /etc/rbdemo/extra.conf, mode: "0640", owner: rbpw, group: runbook}`
	h.step(copyStep, steps.Changed)
	h.step(copyStep, steps.OK)
	if got := strings.TrimSpace(h.sh("stat -c '%U %G %a' /etc/rbdemo/extra.conf; cat /etc/rbdemo/extra.conf")); got != "rbpw runbook 640\nlevel = 3" {
		t.Errorf("copied file: %q", got)
	}
	if err := os.WriteFile(filepath.Join(h.x.BaseDir, "motd.tmpl"), []byte("node {{ host.name }} at {{ host.address }}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.step(`template: {src: motd.tmpl, dest: /etc/motd, mode: "0644"}`, steps.Changed)
	addr, _, _ := sharedLab(t).Addr("files")
	if got := h.sh("cat /etc/motd"); got != "node files at "+addr+"\n" {
		t.Errorf("/etc/motd: %q", got)
	}
	r := h.step(`fetch: {src: /etc/os-release}`, steps.OK)
	local, _ := r.Data["local"].(string)
	if local == "" {
		local = filepath.Join(h.x.RunDir, "fetched", "files", "etc", "os-release")
	}
	data, err := os.ReadFile(local)
	if err != nil || !strings.Contains(string(data), `VERSION_ID="12"`) {
		t.Errorf("fetched %s: %v %q (data %v)", local, err, data, r.Data)
	}
}

// TestBecomeWithASudoPassword logs in as a user whose sudo asks for a
// password: become works with the password, which shows in no process's
// arguments on the node, in no output and in no command recorded; without
// it, or with a wrong one, the step fails and says why.
func TestBecomeWithASudoPassword(t *testing.T) {
	l := sharedLab(t)
	h := dialStepHost(t, l, "files", PasswordUser, []byte(PasswordUserSudo))
	r := h.step(`shell: id -un`, steps.Changed)
	if got := strings.TrimSpace(h.out.String()); got != "root" {
		t.Errorf("become ran as %q", got)
	}
	// While a become command runs, look at every process's arguments.
	done := make(chan steps.Result, 1)
	go func() { done <- h.try(`shell: sleep 4; echo slept`) }()
	watcher := dialStepHost(t, l, "files", LoginUser, nil)
	var seen string
	for i := 0; i < 20 && !strings.Contains(seen, "sleep 4"); i++ {
		time.Sleep(200 * time.Millisecond)
		seen = watcher.sh("ps -eo args")
	}
	if !strings.Contains(seen, "sleep 4") {
		t.Errorf("never saw the become command run:\n%s", seen)
	}
	if strings.Contains(seen, PasswordUserSudo) {
		t.Errorf("the sudo password is in a process's arguments:\n%s", seen)
	}
	if res := <-done; res.Status != steps.Changed {
		t.Errorf("become sleep: %s %v", res.Status, res.Err)
	}
	if strings.Contains(h.out.String(), PasswordUserSudo) || strings.Contains(r.Command, PasswordUserSudo) {
		t.Error("the sudo password reached the step's output or command")
	}
	if got := strings.TrimSpace(h.sh("journalctl -q --no-pager -t sudo | grep -c 'COMMAND=' || true")); got == "0" {
		t.Errorf("sudo logged no command")
	}

	for name, pass := range map[string][]byte{"no password": nil, "a wrong password": []byte("not-it")} {
		bad := dialStepHost(t, l, "files", PasswordUser, pass)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		_, errOut, rc, err := bad.x.Output(ctx, transport.Command{Shell: "id -un", Become: true})
		cancel()
		if err == nil && rc == 0 {
			t.Errorf("%s: become succeeded", name)
		}
		if msg := errOut + " " + errString(err); !strings.Contains(msg, "sudo") || !strings.Contains(msg, "password") {
			t.Errorf("%s: the failure does not say sudo wants a password: rc %d, %q", name, rc, msg)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
