package shell

import (
	"strings"
	"testing"
)

func fileIs(p, want string) func(t *testing.T, n *testNode) {
	return func(t *testing.T, n *testNode) {
		t.Helper()
		got, ok := n.read(p)
		if !ok || got != want {
			t.Errorf("%s = %q (exists %v), want %q", p, got, ok, want)
		}
	}
}

func absent(p string) func(t *testing.T, n *testNode) {
	return func(t *testing.T, n *testNode) {
		t.Helper()
		if _, ok := n.read(p); ok {
			t.Errorf("%s exists", p)
		}
	}
}

func TestFileUtilities(t *testing.T) {
	f := map[string]string{"/srv/a.txt": "alpha\nbeta\n", "/srv/sub/b.txt": "bee\n", "/srv/.hidden": "h\n"}
	runTable(t, []tcase{
		// cat
		{name: "cat", files: f, script: "cat /srv/a.txt - /srv/sub/b.txt", stdin: "in\n", out: "alpha\nbeta\nin\nbee\n"},
		{name: "cat -n", files: f, script: "cat -n /srv/a.txt", out: "     1\talpha\n     2\tbeta\n"},
		{name: "cat missing", script: "cat /nope", code: 1, errHas: "cat: /nope: No such file or directory"},
		{name: "cat directory", files: f, script: "cat /srv", code: 1, errHas: "Is a directory"},
		{name: "cat bad flag", script: "cat -Q x", code: 2, errHas: "usage: cat"},
		// ls
		{name: "ls", files: f, script: "ls /srv; ls -a /srv/sub; ls -d /srv", out: "a.txt\nsub\n.\n..\nb.txt\n/srv\n"},
		{name: "ls missing", script: "ls /nope", code: 2, errHas: "cannot access '/nope'"},
		// mkdir rmdir
		{name: "mkdir -p -m", script: "mkdir -p /a/b/c && mkdir -m 700 /d && stat -c '%a %F' /a/b/c /d", out: "755 directory\n700 directory\n"},
		{name: "mkdir exists", files: f, script: "mkdir /srv", code: 1, errHas: "cannot create directory '/srv': File exists"},
		{name: "mkdir missing parent", script: "mkdir /x/y", code: 1, errHas: "No such file or directory"},
		{name: "rmdir", script: "mkdir -p /a/b; rmdir -p /a/b; test -e /a || echo gone", out: "gone\n"},
		// rm
		{name: "rm", files: f, script: "rm /srv/a.txt; rm -r /srv/sub; ls -A /srv", out: ".hidden\n", check: absent("/srv/a.txt")},
		{name: "rm dir without -r", files: f, script: "rm /srv/sub", code: 1, errHas: "Is a directory"},
		{name: "rm -f missing", script: "rm -f /nope; echo $?", out: "0\n"},
		{name: "rm missing", script: "rm /nope", code: 1, errHas: "cannot remove '/nope'"},
		{name: "rm root refused", script: "rm -rf /", code: 1, errHas: "dangerous", check: fileIs("/etc/hostname", "node-1\n")},
		{name: "rm symlink keeps target", files: f, script: "ln -s /srv /l; rm /l; cat /srv/a.txt", out: "alpha\nbeta\n"},
		// cp
		{name: "cp file", files: f, script: "cp /srv/a.txt /tmp/c; cat /tmp/c", out: "alpha\nbeta\n"},
		{name: "cp into dir", files: f, script: "cp /srv/a.txt /srv/sub/b.txt /tmp; ls /tmp", out: "a.txt\nb.txt\n"},
		{name: "cp dir needs -r", files: f, script: "cp /srv /x", code: 1, errHas: "-r not specified"},
		{name: "cp -r", files: f, script: "cp -r /srv /copy; find /copy | sort", out: "/copy\n/copy/.hidden\n/copy/a.txt\n/copy/sub\n/copy/sub/b.txt\n"},
		{name: "cp -p keeps mode", files: f, script: "chmod 600 /srv/a.txt; cp -p /srv/a.txt /tmp/p; stat -c %a /tmp/p", out: "600\n"},
		{name: "cp -a keeps links", files: f, script: "ln -s a.txt /srv/l; cp -a /srv /c; readlink /c/l", out: "a.txt\n"},
		{name: "cp into itself", files: f, script: "cp -r /srv /srv/sub/x", code: 1, errHas: "into itself"},
		{name: "cp missing operand", script: "cp /x", code: 1, errHas: "missing destination"},
		// mv
		{name: "mv", files: f, script: "mv /srv/a.txt /tmp/m; cat /tmp/m; test -e /srv/a.txt || echo moved", out: "alpha\nbeta\nmoved\n"},
		{name: "mv into dir", files: f, script: "mkdir /d; mv /srv/a.txt /srv/sub /d; ls /d", out: "a.txt\nsub\n"},
		{name: "mv missing", script: "mv /nope /x", code: 1, errHas: "cannot stat '/nope'"},
		// touch
		{name: "touch", script: "touch /tmp/t; test -f /tmp/t && echo yes; touch -c /tmp/none; test -e /tmp/none || echo no", out: "yes\nno\n"},
		{name: "touch -d", script: "touch -d '2020-01-02 03:04:05' /tmp/t; date -u -r /tmp/t +%Y", out: "2020\n"},
		// chmod chown
		{name: "chmod octal and symbolic", files: f, script: "chmod 640 /srv/a.txt; stat -c %a /srv/a.txt; chmod u+x,g-r /srv/a.txt; stat -c %a /srv/a.txt; chmod a=r /srv/a.txt; stat -c %a /srv/a.txt; chmod +x /srv/a.txt; stat -c %a /srv/a.txt",
			out: "640\n700\n444\n555\n"},
		{name: "chmod -R", files: f, script: "chmod -R go-rwx /srv; stat -c '%a %n' /srv /srv/sub/b.txt", out: "700 /srv\n600 /srv/sub/b.txt\n"},
		{name: "chmod bad mode", files: f, script: "chmod 99 /srv/a.txt", code: 2, errHas: "invalid mode"},
		{name: "chmod -x as mode", script: "touch /t; chmod +x /t; chmod -x /t; stat -c %a /t", out: "644\n"},
		{name: "chown known users", files: f, script: "chown root:root /srv/a.txt && chown -R ubuntu /srv && chgrp nogroup /srv/a.txt && echo ok", out: "ok\n"},
		{name: "chown unknown user", files: f, script: "chown ghost /srv/a.txt", code: 1, errHas: "invalid user"},
		{name: "chown missing file", script: "chown root /nope", code: 1, errHas: "cannot access"},
		// ln readlink realpath
		{name: "ln -s and readlink", script: "ln -s /etc/hostname /tmp/h; readlink /tmp/h; readlink -f /tmp/h; cat /tmp/h", out: "/etc/hostname\n/etc/hostname\nnode-1\n"},
		{name: "ln -sf replaces", script: "ln -s /a /tmp/l; ln -sf /b /tmp/l; readlink /tmp/l", out: "/b\n"},
		{name: "ln existing", script: "ln -s /a /tmp/l; ln -s /b /tmp/l", code: 1, errHas: "File exists"},
		{name: "ln hard", files: f, script: "ln /srv/a.txt /tmp/h; stat -c %h /tmp/h", out: "2\n"},
		{name: "realpath", files: f, script: "ln -s /srv/sub /l; realpath /l/../a.txt /l/b.txt /l/new", out: "/srv/a.txt\n/srv/sub/b.txt\n/srv/sub/new\n"},
		// stat
		{name: "stat -c", files: f, script: "stat -c '%a %s %n %F %U' /srv/a.txt /srv", out: "644 11 /srv/a.txt regular file root\n755 4096 /srv directory root\n"},
		{name: "stat missing", script: "stat /nope", code: 1, errHas: "cannot statx '/nope'"},
		// find
		{name: "find -name -type", files: f, script: "find /srv -type f -name '*.txt' | sort", out: "/srv/a.txt\n/srv/sub/b.txt\n"},
		{name: "find -maxdepth -mindepth", files: f, script: "find /srv -mindepth 1 -maxdepth 1 | sort", out: "/srv/.hidden\n/srv/a.txt\n/srv/sub\n"},
		{name: "find relative", files: f, script: "cd /srv && find . -type d", out: ".\n./sub\n"},
		{name: "find ! -o", files: f, script: "find /srv ! -type d \\( -name 'a*' -o -name 'b*' \\) | sort", out: "/srv/a.txt\n/srv/sub/b.txt\n"},
		{name: "find -delete", files: f, script: "find /srv -name '*.txt' -delete; find /srv | sort", out: "/srv\n/srv/.hidden\n/srv/sub\n"},
		{name: "find -exec", files: f, script: "find /srv -name '*.txt' -exec cat {} \\; | sort; find /srv -name '*.txt' -exec echo X {} +", out: "alpha\nbee\nbeta\nX /srv/a.txt /srv/sub/b.txt\n"},
		{name: "find -newer -empty", files: f, script: "touch -d '2000-01-01' /srv/a.txt; touch /srv/empty; find /srv -newer /srv/a.txt -type f | sort; find /srv -empty", out: "/srv/.hidden\n/srv/empty\n/srv/sub/b.txt\n/srv/empty\n"},
		{name: "find -print0", files: f, script: "find /srv/sub -print0 | tr '\\0' ,", out: "/srv/sub,/srv/sub/b.txt,"},
		{name: "find bad predicate", script: "find / -frob", code: 1, errHas: "unknown predicate"},
		{name: "find missing", script: "find /nope", code: 1, errHas: "'/nope'"},
		// mktemp basename dirname
		{name: "mktemp", script: "f=$(mktemp); test -f $f && echo file; d=$(mktemp -d); test -d $d && echo dir; case $f in /tmp/tmp.??????????) echo named;; esac; mktemp -p /srv x.XXX | grep -c '^/srv/x\\...'", files: f, out: "file\ndir\nnamed\n1\n"},
		{name: "mktemp template", script: "mktemp /tmp/foo", code: 1, errHas: "too few X's"},
		{name: "basename dirname", script: "basename /a/b.tar.gz .gz; basename /a/b/; basename -a /x /y/z; dirname /a/b/ a /", out: "b.tar\nb\nx\nz\n/a\n.\n/\n"},
		// install
		{name: "install", files: f, script: "mkdir -p /usr/local/bin; install -m 750 /srv/a.txt /usr/local/bin/a; stat -c %a /usr/local/bin/a; install -d -m 700 /opt/x/y; stat -c %a /opt/x/y", out: "750\n700\n"},
	})
}

func TestLsLong(t *testing.T) {
	n := newTestNode(t, map[string]string{"/srv/x": "12345"})
	r := n.run("chmod 640 /srv/x; ln -s x /srv/l; ls -l /srv", "")
	lines := strings.Split(strings.TrimSpace(r.out), "\n")
	if r.code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[0], "total ") ||
		!strings.HasPrefix(lines[1], "lrwxrwxrwx 1 root root 1 ") || !strings.HasSuffix(lines[1], " l -> x") ||
		!strings.HasPrefix(lines[2], "-rw-r----- 1 root root 5 ") || !strings.HasSuffix(lines[2], " x") {
		t.Errorf("ls -l: %+v", r)
	}
}
