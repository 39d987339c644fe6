package containers

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkStart measures a warm start (the image cached) of a lab of 3
// and of 10 nodes, to the point where every node's sshd answers.
func BenchmarkStart(b *testing.B) {
	for _, n := range []int{3, 10} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			if err := Available(); err != nil {
				b.Skip(err)
			}
			dir := b.TempDir()
			var specs []NodeSpec
			for i := range n {
				specs = append(specs, NodeSpec{Name: fmt.Sprintf("node-%d", i+1)})
			}
			for b.Loop() {
				l, err := Start(context.Background(), Options{Dir: dir, Nodes: specs})
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				l.Close()
				b.StartTimer()
			}
		})
	}
}
