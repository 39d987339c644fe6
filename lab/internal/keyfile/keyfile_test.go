package keyfile

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadOrCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "id")
	made, created, err := LoadOrCreate(path, "test")
	if err != nil || !created {
		t.Fatalf("first: created %v, %v", created, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", fi, err)
	}
	again, created, err := LoadOrCreate(path, "test")
	if err != nil || created || !bytes.Equal(again.PublicKey().Marshal(), made.PublicKey().Marshal()) {
		t.Fatalf("second: created %v, %v, same key %v", created, err, err == nil && bytes.Equal(again.PublicKey().Marshal(), made.PublicKey().Marshal()))
	}
	os.WriteFile(path, []byte("not a key"), 0o600)
	if _, _, err := LoadOrCreate(path, "test"); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("a broken key file: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".id.*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
