package shell

import (
	"context"
	"sync"
	"testing"
	"time"
)

// What runbook's step kinds run on an Ubuntu host, and the lab must run the
// same way: umask, tar -T, dirname --, setsid -f, nohup.

func TestUmask(t *testing.T) {
	runTable(t, []tcase{
		{name: "default", script: "umask; umask -S; umask -p", out: "0022\nu=rwx,g=rx,o=rx\numask 0022\n"},
		{name: "files and directories", script: "echo x > /f1; mkdir /d1; umask 077; echo x > /f2; mkdir -p /d2/sub; touch /f3; stat -c '%n %a' /f1 /d1 /f2 /d2 /d2/sub /f3",
			out: "/f1 644\n/d1 755\n/f2 600\n/d2 700\n/d2/sub 700\n/f3 600\n"},
		{name: "explicit modes win", script: "umask 077; mkdir -m 755 /d; install -m 644 /etc/hostname /h; mktemp -d /tmp/x.XXXX >/dev/null; stat -c %a /d /h", out: "755\n644\n"},
		{name: "symbolic", script: "umask u=rwx,g=rx,o=; umask; umask g-x; umask", out: "0027\n0037\n"},
		{name: "inherited by sh -c, not returned", script: "umask 027; sh -c 'umask; umask 077'; umask", out: "0027\n0027\n"},
		{name: "utilities see it", script: "umask 066; echo x | tee /t >/dev/null; cp /etc/hostname /c; tar czf /a.tgz -C / etc/hostname; stat -c %a /t /c /a.tgz", out: "600\n600\n600\n"},
		{name: "bad mode", script: "umask 0800", code: 1, errHas: "octal number out of range"},
		{name: "bad option", script: "umask -x", code: 2, errHas: "invalid option"},
		{name: "via builtin and command", script: "builtin umask 077; command umask", out: "0077\n"},
	})
}

func TestTarFilesFrom(t *testing.T) {
	files := map[string]string{"/etc/a": "a\n", "/etc/b": "b\n"}
	runTable(t, []tcase{
		{name: "-T /dev/null and operands", files: files, script: `set -- etc/a etc/b; tar -czf /t.tgz -C / -T /dev/null "$@" && tar tzf /t.tgz`, out: "etc/a\netc/b\n"},
		{name: "-T /dev/null alone is an empty archive", script: "tar -czf /t.tgz -T /dev/null && tar tzf /t.tgz | wc -l", out: "0\n"},
		{name: "-T list", files: files, script: "printf 'etc/b\\n\\netc/a\\n' > /l; tar cf /t.tar -C / --files-from=/l; tar tf /t.tar", out: "etc/b\netc/a\n"},
		{name: "--null -T -", files: files, script: "printf 'etc/a\\000etc/b\\000' | tar cf /t.tar -C / --null -T -; tar tf /t.tar", out: "etc/a\netc/b\n"},
		{name: "missing list", script: "tar cf /t.tar -T /nope", code: 2, errHas: "Cannot open"},
	})
}

func TestDirnameBasenameOptions(t *testing.T) {
	runTable(t, []tcase{
		{name: "dirname --", script: "dirname -- /etc/crio/crio.conf.d/99-local.conf", out: "/etc/crio/crio.conf.d\n"},
		{name: "dirname several and -z", script: "dirname a/b /c; dirname -z /x/y | tr '\\0' '|'", out: "a\n/\n/x|"},
		{name: "basename -z", script: "basename -z /x/y | tr '\\0' '|'", out: "y|"},
		{name: "dirname bad option", script: "dirname -q x", code: 2, anyErr: true},
	})
}

// TestDetachedJobs checks that setsid -f and nohup outlive the command that
// started them, as `setsid -f sh -c 'sleep 2; reboot'` does, and that the
// machine's Detach runs them.
func TestDetachedJobs(t *testing.T) {
	n := newTestNode(t, nil)
	var wg sync.WaitGroup
	jobs := 0
	var mu sync.Mutex
	n.m.Detach = func(job func(ctx context.Context)) {
		mu.Lock()
		jobs++
		mu.Unlock()
		wg.Add(1)
		go func() { defer wg.Done(); job(context.Background()) }()
	}
	start := time.Now()
	r := n.run(`setsid -f sh -c 'sleep 0.2; echo done > /tmp/setsid' </dev/null >/dev/null 2>&1; echo started`, "")
	if r.code != 0 || r.out != "started\n" || time.Since(start) > 150*time.Millisecond {
		t.Fatalf("setsid -f: exit %d, %q, %q after %v (it must not wait)", r.code, r.out, r.err, time.Since(start))
	}
	r = n.run(`nohup sh -c 'sleep 0.2; echo done > /tmp/nohup' </dev/null >/dev/null 2>&1 &`, "")
	if r.code != 0 {
		t.Fatalf("nohup &: exit %d, %q", r.code, r.err)
	}
	wg.Wait()
	for _, f := range []string{"/tmp/setsid", "/tmp/nohup"} {
		if got, ok := n.read(f); !ok || got != "done\n" {
			t.Errorf("%s: %q (the detached job did not finish)", f, got)
		}
	}
	if jobs < 2 {
		t.Errorf("Machine.Detach ran %d jobs, want setsid's and nohup's", jobs)
	}
	runTable(t, []tcase{
		{name: "setsid foreground", script: "setsid sh -c 'exit 3'", code: 3},
		{name: "setsid -w", script: "setsid -w sh -c 'echo hi; exit 4'", out: "hi\n", code: 4},
		{name: "nohup status", script: "nohup sh -c 'exit 5'", code: 5},
		{name: "setsid no program", script: "setsid", code: 1, anyErr: true},
		{name: "nohup no program", script: "nohup", code: 125, errHas: "missing operand"},
		{name: "nohup unknown program", script: "nohup no-such-thing", code: 127, errHas: "not simulated"},
	})
}
