package shell

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzRun runs random scripts on a node with controller files around it:
// no input may panic, hang past its deadline, or read, change or create a
// controller file.
func FuzzRun(f *testing.F) {
	for _, s := range []string{
		"echo hi", "cat /etc/passwd ../../secret.txt", "cd /; cd ..; ls", "ln -s ../../.. x; cat x/secret.txt",
		"echo x > ../secret.txt", "f() { f; }; f", "cat <(echo a)", "exec 3<&0; cat <&3", "trap 'echo t' TERM EXIT",
		"awk 'BEGIN { for (;;) x++ }'", "sed -n '1{p;q}' /etc/hostname", "yes | head -1", "tar czf /t.tgz / ; tar tzf /t.tgz | wc -l",
		"find / -type l -exec cat {} \\;", "jq -n '[limit(3; repeat(1))]'", "printf '%s\\n' a b | xargs -n1 sh -c 'echo $0'",
		"grep -r . / | head", "x=$(cat /dev/zero | head -c 10); echo ${#x}", "while :; do :; done", "sleep 10",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, script string) {
		dir := t.TempDir()
		root := filepath.Join(dir, "root")
		secret := filepath.Join(dir, "secret.txt")
		os.MkdirAll(filepath.Join(root, "etc"), 0o755)
		os.MkdirAll(filepath.Join(root, "tmp"), 0o755)
		os.WriteFile(filepath.Join(root, "etc", "hostname"), []byte("node\n"), 0o644)
		os.WriteFile(secret, []byte(canarySecret), 0o644)
		r, err := os.OpenRoot(root)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		m := &Machine{Name: "fuzz", Root: r}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		var out limitedBuffer
		done := make(chan struct{})
		go func() {
			Run(ctx, m, script, strings.NewReader("input\n"), &out, &out)
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("script %q did not stop after its deadline", script)
		}
		if bytes.Contains(out.Bytes(), []byte(canarySecret)) {
			t.Fatalf("script %q read the controller file", script)
		}
		if got, err := os.ReadFile(secret); err != nil || string(got) != canarySecret {
			t.Fatalf("script %q changed the controller file", script)
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != 2 {
			t.Fatalf("script %q created files outside the node: %d entries", script, len(entries))
		}
	})
}

// limitedBuffer keeps the first MiB of output (a fuzzed script may print
// without end until its deadline).
type limitedBuffer struct{ bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := 1<<20 - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
