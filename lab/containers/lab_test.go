package containers

import (
	"strings"
	"testing"
	"time"
)

// TestNodeIsARealDebianSystem boots a node and checks what it is made of:
// systemd, sshd on its own address, the lab's users, rbdemo 1.0-1 running
// with the local edit in its conffile; then a reboot inside it brings it
// back with a new boot id.
func TestNodeIsARealDebianSystem(t *testing.T) {
	l := startLab(t, "n1")
	c := nodeClient(t, l, "n1", LoginUser)
	checks := []struct{ cmd, want string }{
		{"cat /proc/1/comm", "systemd"},
		{"hostname", "n1"},
		{". /etc/os-release; echo $ID $VERSION_ID", "debian 12"},
		{"id -un", LoginUser},
		{"sudo -n id -un", "root"},
		{"rbdemo --version", "rbdemo 1.0-1"},
		{"systemctl is-active rbdemo", "active"},
		{"systemctl is-enabled rbdemo", "enabled"},
		{"dpkg-query -W -f='${Status} ${Version}' rbdemo", "install ok installed 1.0-1"},
		{"tail -n 1 /etc/rbdemo/rbdemo.conf", "# local-edit"},
		{"cat /etc/apt/sources.list.d/*.list", "deb [trusted=yes] file:/srv/rbrepo ./"},
	}
	for _, ck := range checks {
		if got := strings.TrimSpace(run(t, c, ck.cmd)); got != ck.want {
			t.Errorf("%s: %q, want %q", ck.cmd, got, ck.want)
		}
	}
	addr, port, _ := l.Addr("n1")
	if got := run(t, c, "ss -Hltn"); !strings.Contains(got, addr+":8080") || !strings.Contains(got, addr+":"+itoa(port)) {
		t.Errorf("listening sockets:\n%s\nwant rbdemo on %s:8080 and sshd on %s:%d", got, addr, addr, port)
	}
	if out, err := output(nodeClient(t, l, "n1", PasswordUser), "sudo -n true"); err == nil {
		t.Errorf("%s's sudo asks no password: %s", PasswordUser, out)
	}

	before := strings.TrimSpace(run(t, c, "cat /proc/sys/kernel/random/boot_id"))
	output(c, "sudo -n systemctl reboot")
	deadline := time.Now().Add(2 * time.Minute)
	var after string
	for time.Now().Before(deadline) && (after == "" || after == before) {
		time.Sleep(time.Second)
		nc, err := dialNode(l, "n1", LoginUser)
		if err != nil {
			continue
		}
		out, err := output(nc, "cat /proc/sys/kernel/random/boot_id")
		nc.Close()
		if err == nil {
			after = strings.TrimSpace(out)
		}
	}
	if after == "" || after == before {
		t.Fatalf("boot id %q after the reboot, was %q", after, before)
	}
	if got := l.Boots("n1"); got != 2 {
		t.Errorf("%d boots, want 2", got)
	}
	if !l.Running("n1") {
		t.Error("n1 is not running after its reboot")
	}
}
