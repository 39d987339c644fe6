package shell

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

func TestInterpreter(t *testing.T) {
	runTable(t, []tcase{
		{name: "exit status", script: "exit 7", code: 7},
		{name: "last status", script: "false", code: 1},
		{name: "syntax error", script: "if then fi", code: 2, errHas: "bash:"},
		{name: "not simulated", script: "frobnicate --now", code: 127, errHas: "lab: frobnicate is not simulated"},
		{name: "not simulated by path", script: "/opt/tool/bin/frob; echo $?", out: "127\n", errHas: "No such file or directory"},
		{name: "environment", script: `echo "$HOME $USER $PATH"`, out: "/root root /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"},
		{name: "uid", script: `echo "$UID $EUID"; id -u`, out: "0 0\n0\n"},
		{name: "cwd", script: "pwd; cd /etc && pwd; cd - >/dev/null; pwd", out: "/root\n/etc\n/root\n"},
		{name: "cd missing", script: "cd /nope", code: 1, errHas: "/nope"},
		{name: "stdin", script: "read a; read b; echo \"$b-$a\"", stdin: "one\ntwo\n", out: "two-one\n"},
		{name: "pipes", script: "printf 'b\\na\\n' | sort | tr a-z A-Z", out: "A\nB\n"},
		{name: "subshell and substitution", script: `x=$(cd /etc; pwd); (cd /tmp; pwd); echo $x; pwd`, out: "/tmp\n/etc\n/root\n"},
		{name: "functions", script: "f() { echo \"f:$1\"; return 3; }; f a; echo $?", out: "f:a\n3\n"},
		{name: "runaway recursion is stopped", script: "f() { f; }; f", code: 1, errHas: "nesting"},
		{name: "escapes in assignments", script: `X='it'\''s'; Y=a\ b; echo "$X|$Y"`, out: "it's|a b\n"},
		{name: "here document", script: "cat <<EOF\nx\\$y $HOME\nEOF", out: "x$y /root\n"},
		{name: "here string", script: "tr a b <<< aaa", out: "bbb\n"},
		{name: "glob", files: map[string]string{"/srv/a.conf": "", "/srv/b.conf": "", "/srv/c.txt": ""}, script: "echo /srv/*.conf", out: "/srv/a.conf /srv/b.conf\n"},
		{name: "dev null", script: "echo hidden > /dev/null; echo shown 2>/dev/null; cat /dev/null", out: "shown\n"},
		{name: "dev stderr", script: "echo e > /dev/stderr", errHas: "e\n"},
		{name: "fd 3 alias", script: "exec 3>&1; echo via3 >&3; exec 3>&-", out: "via3\n"},
		{name: "stdin saved on fd 3", script: "exec 3<&0; cat <&3 3<&- &\nwait", stdin: "kept\n", out: "kept\n"},
		{name: "signal traps are accepted", script: "trap 'echo trapped' TERM INT; trap 'echo bye' EXIT; echo body", out: "body\nbye\n"},
		{name: "kill is not simulated", script: "kill -TERM 0", code: 1, errHas: "kill is not simulated"},
		{name: "type", script: "f() { :; }; type cd f if sh; type -t cat; type nope", code: 1,
			out: "cd is a shell builtin\nf is a function\nif is a shell keyword\nsh is /usr/bin/sh\nfile\n", errHas: "type: nope: not found"},
		{name: "command -v", script: "command -v echo cat nope; echo $?", out: "echo\n/usr/bin/cat\n1\n"},
		{name: "builtin type", script: "builtin type -t echo; command type -t echo", out: "builtin\nbuiltin\n"},
		{name: "source", files: map[string]string{"/root/lib.sh": "LIBVAR=loaded\n"}, script: ". /root/lib.sh; echo $LIBVAR; source lib.sh; echo ok", out: "loaded\nok\n"},
		{name: "pwd -P", files: map[string]string{"/real/": ""}, script: "ln -s /real /tmp/l; cd /tmp/l; pwd; pwd -P", out: "/tmp/l\n/real\n"},
		{name: "script file with shebang", files: map[string]string{"/usr/local/bin/hello": "#!/bin/bash\necho \"hello $1 from $0\"\nexit 4\n"},
			script: "chmod +x /usr/local/bin/hello; hello you; echo $?; /usr/local/bin/hello me", out: "hello you from /usr/local/bin/hello\n4\nhello me from /usr/local/bin/hello\n", code: 4},
		{name: "script without exec bit", files: map[string]string{"/tmp/s.sh": "echo no\n"}, script: "/tmp/s.sh", code: 126, errHas: "Permission denied"},
		{name: "sh -c with args", script: `sh -c 'echo "$0 $1 $#"' zero one`, out: "zero one 1\n"},
		{name: "sh -s from stdin", script: "sh -s a b", stdin: "echo \"$1$2\"\n", out: "ab\n"},
		{name: "sh FILE", files: map[string]string{"/tmp/s.sh": "echo \"file $1\"; exit 3\n"}, script: "sh /tmp/s.sh x", out: "file x\n", code: 3},
		{name: "sh -e", script: "sh -e -c 'false; echo not'; echo $?", out: "1\n"},
		{name: "bash -o pipefail", script: "bash -o pipefail -c 'false | true'; echo $?", out: "1\n"},
		{name: "sudo", script: "sudo -n id -un; sudo -u ubuntu whoami; sudo -u ubuntu sh -c 'echo $HOME'; sudo -- echo ok", out: "root\nubuntu\n/home/ubuntu\nok\n"},
		{name: "sudo -S consumes the password line", script: "sudo -S -p '' cat", stdin: "secret-password\nrest\n", out: "rest\n"},
		{name: "sudo unknown user", script: "sudo -u ghost true", code: 1, errHas: "unknown user ghost"},
		{name: "sudo bad flag", script: "sudo -Z true", code: 2, errHas: "usage"},
		{name: "env", script: "env -i FOO=bar env; env -u HOME sh -c 'echo \"[$HOME]\"'; FOO=x env | grep ^FOO=", out: "FOO=bar\n[]\nFOO=x\n"},
		{name: "timeout", script: "timeout 0.1 sleep 10; echo $?; timeout 5 true; echo $?", out: "124\n0\n"},
		{name: "echo printf test as programs", script: "sudo echo -n a; env printf '%s-%d\\n' b 3; sudo test -d /etc && echo dir; xargs printf '[%s]' <<< 'x y'", out: "ab-3\ndir\n[x][y]"},
		{name: "which", script: "which sh nope; echo $?", out: "/usr/bin/sh\n1\n"},
	})
}

func TestProgramsShadowUtilities(t *testing.T) {
	n := newTestNode(t, nil)
	var got []string
	n.m.Programs = map[string]Program{
		"cat": func(c *Call) int {
			got = append(got, strings.Join(c.Args, " ")+" in "+c.Dir+" FOO="+c.Env("FOO"))
			fmt.Fprintln(c.Stdout, "simulated cat")
			return 5
		},
	}
	r := n.run("cd /etc; FOO=bar /usr/bin/cat x; echo $?", "")
	if r.out != "simulated cat\n5\n" || len(got) != 1 || got[0] != "/usr/bin/cat x in /etc FOO=bar" {
		t.Errorf("got %+v, calls %q", r, got)
	}
}

func TestCancellation(t *testing.T) {
	n := newTestNode(t, nil)
	for _, script := range []string{"sleep 600", "while true; do :; done", "yes > /dev/null", "cat", "f() { f | cat; }; x=1; while :; do x=$((x+1)); done"} {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan int, 1)
		pr, pw := ioPipe()
		go func() { done <- Run(ctx, n.m, script, pr, &bytes.Buffer{}, &bytes.Buffer{}) }()
		time.Sleep(50 * time.Millisecond)
		cancel()
		select {
		case code := <-done:
			if code == 0 {
				t.Errorf("%q: exit 0 after cancel", script)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("%q: not stopped by cancellation", script)
		}
		pw.Close()
	}
}

func TestRunWithoutRoot(t *testing.T) {
	var errb bytes.Buffer
	if code := Run(context.Background(), &Machine{Name: "x"}, "true", nil, nil, &errb); code == 0 || !strings.Contains(errb.String(), "no file tree") {
		t.Errorf("code %d, stderr %q", code, errb.String())
	}
	if code := Run(context.Background(), nil, "true", nil, nil, nil); code == 0 {
		t.Error("nil machine ran")
	}
}

func TestOptions(t *testing.T) {
	n := newTestNode(t, nil)
	var out bytes.Buffer
	code := Run(context.Background(), n.m, `echo "$0 $1 $2 $FOO $(pwd)"`, nil, &out, nil,
		WithName("myscript"), WithParams("a", "b"), WithEnv(map[string]string{"FOO": "foo"}), WithDir("/etc"))
	if code != 0 || out.String() != "myscript a b foo /etc\n" {
		t.Errorf("code %d, %q", code, out.String())
	}
	out.Reset()
	Run(context.Background(), n.m, "pwd", nil, &out, nil, WithDir("/no/such/dir"))
	if out.String() != "/root\n" {
		t.Errorf("a missing start directory falls back to HOME: %q", out.String())
	}
}

func TestUtilitiesListed(t *testing.T) {
	names := Utilities()
	for _, want := range []string{"awk", "cat", "cp", "diff", "find", "grep", "jq", "sed", "sh", "sudo", "tar", "xargs"} {
		found := false
		for _, n := range names {
			found = found || n == want
		}
		if !found {
			t.Errorf("Utilities() lacks %s", want)
		}
	}
}

func TestExecWithoutArgs(t *testing.T) {
	n := newTestNode(t, nil)
	var errb bytes.Buffer
	c := &Call{Ctx: context.Background(), Machine: n.m, Stdout: &bytes.Buffer{}, Stderr: &errb}
	if code := Exec(c); code != 127 {
		t.Errorf("Exec with no args: %d", code)
	}
	// Nested programs are bounded.
	n.write("/tmp/loop", "#!/tmp/loop\n")
	if r := n.run("chmod +x /tmp/loop; /tmp/loop", ""); r.code == 0 || !strings.Contains(r.err, "too many nested programs") {
		t.Errorf("self-interpreting script: %+v", r)
	}
}

func ioPipe() (*io.PipeReader, *io.PipeWriter) { return io.Pipe() }
