package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/runbookhq/runbook/lab"
	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/engine"
	"github.com/runbookhq/runbook/runbook/inventory"
)

// targetFlags are the flags that say what a run works on: the runbook's
// inventory, its params and the --limit (plan and run share them).
type targetFlags struct {
	Runbook   string
	Inventory string
	Extra     []string
	Limit     string
}

func (t *targetFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&t.Inventory, "inventory", "i", "", "inventory file (Ansible YAML or INI)")
	f.StringArrayVarP(&t.Extra, "extra", "e", nil, "param name=value, or @file.yaml (repeatable)")
	f.StringVar(&t.Limit, "limit", "", "narrow the targets with a host pattern")
}

// load reads the runbook, the inventory and the -e values, as engine
// options; runbook warnings go to w.
func (t *targetFlags) load(w io.Writer) (engine.Options, error) {
	rb, err := loadRunbook(t.Runbook, w)
	if err != nil {
		return engine.Options{}, err
	}
	inv, err := loadInventory(t.Inventory)
	if err != nil {
		return engine.Options{}, err
	}
	given, err := parseExtra(t.Extra)
	if err != nil {
		return engine.Options{}, err
	}
	return engine.Options{Runbook: rb, Inventory: inv, InventoryFile: t.Inventory, Given: given, Limit: t.Limit}, nil
}

// checkOutput checks an --output value.
func checkOutput(v string) error {
	if v != "text" && v != "json" {
		return usage(fmt.Errorf("--output %q: use text or json", v))
	}
	return nil
}

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

// loadInventory reads the inventory at path, whose hosts may also name the
// lab's transport, and has the lab check the variables of the hosts it
// serves.
func loadInventory(path string) (*inventory.Inventory, error) {
	if path == "" {
		return nil, usage(fmt.Errorf("an inventory is needed: -i FILE"))
	}
	inv, err := inventory.Options{Transports: []string{lab.Transport}}.Load(path)
	if err != nil {
		return nil, usage(err)
	}
	if _, err := lab.Nodes(inv); err != nil {
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
			m, err := readExtraFile(data)
			if err != nil {
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

// readExtraFile reads the mapping of a -e @file, its values typed as a
// runbook's are (runbook.DecodeValue).
func readExtraFile(data []byte) (map[string]any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if doc.Kind == 0 {
		return map[string]any{}, nil
	}
	v, err := runbook.DecodeValue(&doc)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("expected a mapping of names to values")
	}
	return m, nil
}
