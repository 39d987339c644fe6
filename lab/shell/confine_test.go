package shell

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every case tries to read or write a controller file; the helper checks
// afterwards that no controller file was read into the output, changed, or
// created. The output must never hold the controller secret.
func TestConfinement(t *testing.T) {
	cases := []struct {
		name   string
		script string
	}{
		{"absolute path reads the node's file", "cat /etc/passwd /etc/hostname"},
		{"dot-dot from a relative path", "cat ../../../../../../etc/passwd; cat ../secret.txt ../../secret.txt"},
		{"dot-dot from the root", "cd / && cd .. && cd .. && pwd && cat etc/hostname secret.txt"},
		{"dot-dot inside an absolute path", "cat /../../secret.txt /tmp/../../../secret.txt"},
		{"symlink to an absolute controller path", "ln -s /etc/shadow x; ln -s /etc/passwd y; cat x y; ls -l x"},
		{"symlink climbing out", "ln -s ../../.. up; cat up/secret.txt up/etc/passwd; ls up; cd up && pwd && ls"},
		{"symlink chain", "ln -s ../../ a; ln -s a/.. b; ln -s b/../.. c; cat c/secret.txt; ls c"},
		{"redirection out", "echo pwned > ../secret.txt; echo pwned > @OUT@/x; echo pwned >> @OUT@/secret.txt; echo pwned >> ../../etc/passwd; echo pwned > /tmp/x"},
		{"redirection through a symlink", "ln -s @OUT@/secret.txt /tmp/p; echo pwned > /tmp/p; cat /tmp/p"},
		{"input redirection", "cat < ../secret.txt; read l < /../../secret.txt; echo \"$l\""},
		{"fifo shortcut of the interpreter", "echo pwned > /tmp/sh-interp-1; cat /tmp/sh-interp-1; cat <(echo hi)"},
		{"proc self root", "cat /proc/self/root/etc/passwd /proc/1/root/secret.txt"},
		{"cp out and in", "cp ../secret.txt /tmp/s; cp /etc/passwd ../../stolen; cp -r /etc /tmp/all; cp -r @OUT@ /tmp/out; cat /tmp/s"},
		{"cp -r through a symlink", "ln -s ../../.. /tmp/up; cp -r /tmp/up /tmp/copy; ls /tmp/copy"},
		{"mv out", "echo m > /tmp/m; mv /tmp/m ../../moved; mv ../secret.txt /tmp/s; mv @OUT@/secret.txt /tmp/s2; ls /"},
		{"find everything", "find / -name '*secret*'; find / | grep -c .; find /.. -maxdepth 1"},
		{"sh -c and bash", "sh -c 'cat ../../secret.txt'; bash -c 'cd /; cd ..; cat secret.txt'; echo 'cat /../secret.txt' | sh"},
		{"jq reads files", "jq . ../../secret.txt; jq -n --rawfile s /../secret.txt '$s'; jq -n --slurpfile s ../secret.txt '$s'"},
		{"sed -i on controller paths", "sed -i s/C/X/ ../../secret.txt @OUT@/secret.txt; sed -n p ../secret.txt; sed 'w ../../w.txt' /etc/hostname"},
		{"xargs cat", "echo ../../secret.txt /../../etc/passwd | xargs cat"},
		{"grep -r", "grep -r SECRET /; grep -r SECRET ..; grep SECRET ../secret.txt"},
		{"tar of the parent", "tar czf /tmp/a.tgz ../.. && tar tzf /tmp/a.tgz; tar czf ../../out.tgz /etc"},
		{"awk files and getline", `awk '{print}' ../secret.txt; awk 'BEGIN{while((getline l < "../../secret.txt")>0) print l; print "x" > "../../awk.txt"}'`},
		{"source and dot", "source ../../secret.txt; . /../secret.txt; echo 'echo sourced' > /tmp/s.sh; . /tmp/s.sh"},
		{"command lookup", "command -v secret.txt; type ../secret.txt; PATH=/..:.. command -v secret.txt; which ../secret.txt"},
		{"scripts by path", "../secret.txt; /../secret.txt; PATH=.. secret.txt; echo '#!/bin/sh' > /tmp/s; chmod +x /tmp/s; /tmp/s"},
		{"pwd -P and readlink", "ln -s /.. /tmp/l; cd /tmp/l && pwd -P; readlink -f /tmp/l/../secret.txt; realpath ../../secret.txt"},
		{"glob outside", "echo /../*; echo ../*; cd /; echo ../../*"},
		{"touch chmod rm mkdir", "touch ../../t; chmod 777 ../secret.txt @OUT@/secret.txt; rm -rf ../secret.txt @OUT@/secret.txt; mkdir -p ../../newdir; rmdir ../../tmp"},
		{"ln hard link", "ln ../secret.txt /tmp/h; ln /etc/passwd ../../h"},
		{"stat and test", "stat ../secret.txt; test -e ../secret.txt && echo exists; [ -f /../../etc/passwd ] && head -1 /../../etc/passwd"},
		{"tee and dd-like writes", "echo pwned | tee ../secret.txt @OUT@/secret.txt; echo x | tee -a ../../secret.txt"},
		{"mktemp outside", "mktemp -p .. ; mktemp ../../tmp.XXXXXX; mktemp -d -p @OUT@"},
		{"gzip in place", "gzip ../secret.txt; gunzip -c ../secret.txt.gz; cd /; gzip -k ../secret.txt"},
		{"diff and cmp", "diff /etc/passwd ../../etc/passwd; cmp ../secret.txt /etc/hostname"},
		{"sha256sum -c", "echo 'abc  ../../secret.txt' > /tmp/sums; sha256sum -c /tmp/sums; sha256sum ../secret.txt"},
		{"tilde expansion", "echo ~controller ~nobody ~root; cat ~/../../secret.txt"},
		{"sudo and env", "sudo cat ../../secret.txt; env cat /../secret.txt; sudo -u ubuntu sh -c 'cat ../../../secret.txt'"},
		{"timeout wraps", "timeout 5 cat ../../secret.txt"},
		{"NUL and odd names", "cat \"$(printf '/etc/passwd\\001')\"; cat ''; cat /etc/passwd/..; cat ////..//..//secret.txt"},
		{"devices", "cat /dev/../secret.txt; head -c 3 /dev/zero | wc -c; echo ok > /dev/null; cat /dev/stdin < /etc/hostname"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := newTestNode(t, nil)
			// Writes that would escape aim at the canaries beside the node
			// root (@OUT@ climbs from "/" to them), never at a file of the
			// machine: a confinement bug must fail the test, not damage
			// the controller.
			out := "/../../../../../../../../../.." + n.dir
			r := n.run(strings.ReplaceAll(tc.script, "@OUT@", out), "")
			if strings.Contains(tc.script, "@OUT@") {
				// The script names the canaries' directory itself (a path
				// that, inside the node, does not exist), so messages may too.
				for _, p := range []string{out, n.dir} {
					r.out, r.err = strings.ReplaceAll(r.out, p, "@OUT@"), strings.ReplaceAll(r.err, p, "@OUT@")
				}
			}
			if strings.Contains(r.out, canarySecret) || strings.Contains(r.err, canarySecret) {
				t.Errorf("a controller file was read:\nstdout %q\nstderr %q", r.out, r.err)
			}
			if strings.Contains(r.out+r.err, n.dir) {
				t.Errorf("output names a controller path (%s):\nstdout %q\nstderr %q", n.dir, r.out, r.err)
			}
			n.checkCanaries()
		})
	}
}

// The node's own files are what absolute paths reach.
func TestAbsolutePathsAreNodePaths(t *testing.T) {
	n := newTestNode(t, nil)
	r := n.run("cat /etc/hostname; ln -s /etc/hostname /tmp/h; cat /tmp/h; ln -s ../../../../etc/hostname /tmp/h2; cat /tmp/h2; cd /tmp && cat ../../../etc/hostname", "")
	if r.out != "node-1\nnode-1\nnode-1\nnode-1\n" || r.code != 0 {
		t.Errorf("got %+v", r)
	}
	if r := n.run("echo hi > /root/f; cat ~/f", ""); r.out != "hi\n" {
		t.Errorf("home: %+v", r)
	}
	if got, _ := n.read("/root/f"); got != "hi\n" {
		t.Errorf("/root/f on disk: %q", got)
	}
}

func tarball(t *testing.T, entries []tar.Header, contents map[string]string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, h := range entries {
		h := h
		body := contents[h.Name]
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(body))
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(body))
		}
	}
	tw.Close()
	zw.Close()
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func TestTarExtractionIsConfined(t *testing.T) {
	archive := tarball(t, []tar.Header{
		{Name: "../../secret.txt", Typeflag: tar.TypeReg},
		{Name: "ok/../../../etc/passwd", Typeflag: tar.TypeReg},
		{Name: "/tmp/x", Typeflag: tar.TypeReg},
		{Name: "/abs.txt", Typeflag: tar.TypeReg},
		{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "../../.."},
		{Name: "link/secret.txt", Typeflag: tar.TypeReg},
		{Name: "abslink", Typeflag: tar.TypeSymlink, Linkname: "/"},
		{Name: "abslink/../secret.txt", Typeflag: tar.TypeReg},
		{Name: "abslink/pwned.txt", Typeflag: tar.TypeReg},
		{Name: "hard", Typeflag: tar.TypeLink, Linkname: "../../secret.txt"},
		{Name: "dev", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3},
		{Name: "fifo", Typeflag: tar.TypeFifo},
		{Name: "good/file.txt", Typeflag: tar.TypeReg},
	}, map[string]string{
		"../../secret.txt": "pwned", "ok/../../../etc/passwd": "pwned", "/tmp/x": "pwned-abs", "/abs.txt": "abs",
		"link/secret.txt": "pwned", "abslink/../secret.txt": "pwned", "abslink/pwned.txt": "inside", "good/file.txt": "good",
	})
	for _, flags := range []string{"xzf", "-xzPf", "xzf --strip-components=0"} {
		t.Run(flags, func(t *testing.T) {
			n := newTestNode(t, map[string]string{"/tmp/a.b64": archive})
			r := n.run("mkdir -p /srv/x && base64 -d /tmp/a.b64 > /tmp/a.tgz && tar "+strings.Replace(flags, "f", "f /tmp/a.tgz", 1)+" -C /srv/x; echo rc=$?; cat /srv/x/good/file.txt", "")
			if !strings.Contains(r.out, "good") {
				t.Errorf("the good member was not extracted: %+v", r)
			}
			if !strings.Contains(r.err, "Member name contains '..'") {
				t.Errorf("members with .. were not refused: %q", r.err)
			}
			if _, ok := n.read("/srv/x/dev"); ok {
				t.Error("a device member was created")
			}
			n.checkCanaries()
			// Whatever was written went to the node.
			for _, p := range []string{"/srv/x/tmp/x", "/tmp/x"} {
				if got, ok := n.read(p); ok && got != "pwned-abs" {
					t.Errorf("%s: %q", p, got)
				}
			}
			if _, err := os.Stat(filepath.Join(n.dir, "pwned.txt")); err == nil {
				t.Error("a member was written through an absolute symlink to the controller")
			}
		})
	}
}

// Controller paths must not leak through error messages either.
func TestErrorsNameNodePaths(t *testing.T) {
	n := newTestNode(t, nil)
	r := n.run("cat /nope; ls /nope; cd /nope; echo x > /nope/x; rm /nope; stat /nope; tar xf /nope", "")
	if strings.Contains(r.err, n.rootDir) || strings.Contains(r.err, n.dir) {
		t.Errorf("stderr names the controller path: %q", r.err)
	}
	if !strings.Contains(r.err, "/nope") {
		t.Errorf("stderr does not name the node path: %q", r.err)
	}
}
