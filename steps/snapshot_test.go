package steps

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSnapshotCompare(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			dir := tg.scratch(t)
			x := newExec(t, tg.tr, tg.become)
			pods := filepath.Join(dir, "pods")
			os.WriteFile(pods, []byte("kube-proxy 1111\nflannel 2222\ncoredns 3333\n"), 0o644)
			r := run(t, mustKind(t, `snapshot: {name: pods, shell: "cat `+pods+`"}`), x)
			wantStatus(t, r, OK)
			if r.Snapshots["pods"] != "kube-proxy 1111\nflannel 2222\ncoredns 3333\n" || r.SnapshotCommands["pods"] != "cat "+pods {
				t.Fatalf("snapshot %q command %q", r.Snapshots["pods"], r.SnapshotCommands["pods"])
			}

			wantStatus(t, run(t, mustKind(t, `compare: pods`), x), OK)
			wantErr(t, run(t, mustKind(t, `compare: {snapshot: pods, expect: changed}`), x), "did not change (3 lines)")

			os.WriteFile(pods, []byte("kube-proxy 1111\nflannel 9999\ncoredns 3333\n"), 0o644)
			r = run(t, mustKind(t, `compare: pods`), x)
			wantErr(t, r, "compare pods: the output changed:", "--- snapshot pods\n+++ now\n", "-flannel 2222\n+flannel 9999")
			if r.Data["changed"] != true || !strings.Contains(r.Data["diff"].(string), "+flannel 9999") {
				t.Errorf("data %v", r.Data)
			}
			wantStatus(t, run(t, mustKind(t, `compare: {snapshot: pods, expect: changed}`), x), OK)
			// shell: overrides the command.
			wantStatus(t, run(t, mustKind(t, `compare: {snapshot: pods, shell: "printf 'kube-proxy 1111\\nflannel 2222\\ncoredns 3333\\n'"}`), x), OK)
		})
	}
}

func TestSnapshotFailures(t *testing.T) {
	tg := targets(t)[0]
	x := newExec(t, tg.tr, false)
	r := run(t, mustKind(t, `snapshot: {name: s, shell: "echo partial; exit 2"}`), x)
	wantErr(t, r, "snapshot s: exit status 2")
	if r.Snapshots != nil {
		t.Error("a failed snapshot must record nothing")
	}
	wantErr(t, run(t, mustKind(t, `compare: s`), x), `no snapshot "s" was taken on host1`)
	r = run(t, mustKind(t, `snapshot: {name: big, shell: "head -c 5000000 /dev/zero"}`), x)
	wantErr(t, r, "longer than 4 MiB")
	x.SnapshotCommand = nil
	x.Snapshot = func(string) (string, bool) { return "x", true }
	wantErr(t, run(t, mustKind(t, `compare: s`), x), "give shell:")
}
