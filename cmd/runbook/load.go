package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/inventory"
)

// loadRunbook loads a runbook, printing its warnings to w.
func loadRunbook(path string, w io.Writer) (*runbook.Runbook, error) {
	rb, warns, err := runbook.Load(path)
	for _, warn := range warns {
		fmt.Fprintln(w, warn)
	}
	if err != nil {
		return nil, usage(err)
	}
	return rb, nil
}

func loadInventory(path string) (*inventory.Inventory, error) {
	if path == "" {
		return nil, usage(fmt.Errorf("an inventory is needed: -i FILE"))
	}
	inv, err := inventory.Load(path)
	if err != nil {
		return nil, usage(err)
	}
	return inv, nil
}

// parseExtra reads -e values: k=v, or @file.yaml holding a mapping.
func parseExtra(list []string) (map[string]any, error) {
	out := map[string]any{}
	for _, e := range list {
		if file, ok := strings.CutPrefix(e, "@"); ok {
			data, err := os.ReadFile(file)
			if err != nil {
				return nil, usage(fmt.Errorf("-e @%s: %w", file, err))
			}
			var m map[string]any
			if err := yaml.Unmarshal(data, &m); err != nil {
				return nil, usage(fmt.Errorf("-e @%s: %v", file, err))
			}
			for k, v := range m {
				out[k] = v
			}
			continue
		}
		k, v, ok := strings.Cut(e, "=")
		if !ok || k == "" {
			return nil, usage(fmt.Errorf("-e %q: write it as name=value or @file.yaml", e))
		}
		out[k] = v
	}
	return out, nil
}
