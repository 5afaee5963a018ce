package jepsen

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/meridian-kv/meridian/tests/jepsen/history"
	"github.com/meridian-kv/meridian/tests/jepsen/nemesis"
)

// writeReport writes the run's folder: history.jsonl, plan.txt,
// plan.json (the plan as data: nemesis.Plan), nemesis.txt,
// nemesis.jsonl, netns.txt, verdict.json and summary.txt.
// It sets rep.Summary.
func writeReport(rep *Report, cfg Config, h history.History, plan nemesis.Plan, timeline []nemesis.Event, rules string) error {
	rep.Summary = summary(rep, cfg, h, timeline)
	var errs []error
	write := func(name string, fill func(f *os.File) error) {
		f, err := os.Create(filepath.Join(rep.Dir, name))
		if err != nil {
			errs = append(errs, err)
			return
		}
		if err := fill(f); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
		if err := f.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	write("history.jsonl", func(f *os.File) error { return h.WriteJSONL(f) })
	write("plan.txt", func(f *os.File) error { _, err := f.WriteString(plan.String()); return err })
	write("plan.json", func(f *os.File) error { return json.NewEncoder(f).Encode(plan) })
	write("nemesis.txt", func(f *os.File) error {
		for _, e := range timeline {
			if _, err := fmt.Fprintln(f, e); err != nil {
				return err
			}
		}
		return nil
	})
	write("nemesis.jsonl", func(f *os.File) error {
		enc := json.NewEncoder(f)
		for _, e := range timeline {
			if err := enc.Encode(e); err != nil {
				return err
			}
		}
		return nil
	})
	write("netns.txt", func(f *os.File) error { _, err := f.WriteString(rules); return err })
	write("verdict.json", func(f *os.File) error {
		enc := json.NewEncoder(f)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Name     string         `json:"name"`
			Seed     uint64         `json:"seed"`
			Valid    any            `json:"valid"`
			Counts   history.Counts `json:"counts"`
			Faults   int            `json:"faults"`
			Results  any            `json:"results"`
			Converge any            `json:"convergence"`
			WAN      *WANReport     `json:"wan,omitempty"`
		}{rep.Name, rep.Seed, rep.Valid, rep.Counts, rep.Faults, rep.Results, rep.Converge, rep.WAN})
	})
	write("summary.txt", func(f *os.File) error { _, err := f.WriteString(rep.Summary); return err })
	if len(errs) > 0 {
		return fmt.Errorf("jepsen: writing the report: %v", errs)
	}
	return nil
}

// summary renders the one-screen summary.
func summary(rep *Report, cfg Config, h history.History, timeline []nemesis.Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "run       %s\n", rep.Name)
	fmt.Fprintf(&b, "verdict   %s\n", strings.ToUpper(string(rep.Valid)))
	fmt.Fprintf(&b, "workload  %s, %d nodes (%s mode), %s of clients, seed %d\n", cfg.Workload, cfg.Nodes, cfg.Mode, cfg.Duration, rep.Seed)
	fmt.Fprintf(&b, "reproduce go test ./tests/jepsen -run '%s' -jepsen.seed=%d -jepsen.time=%s -jepsen.hold=%s\n",
		cfg.RunPattern, rep.Seed, cfg.Duration, cfg.Hold)
	c := rep.Counts
	fmt.Fprintf(&b, "ops       %d: %d ok, %d fail, %d info (indeterminate)", c.Total, c.OK, c.Fail, c.Info)
	if c.Pending > 0 {
		fmt.Fprintf(&b, ", %d never completed", c.Pending)
	}
	b.WriteString("\n")
	byF := map[history.F][3]int{}
	for _, op := range h {
		v := byF[op.F]
		switch op.Type {
		case history.OK:
			v[0]++
		case history.Fail:
			v[1]++
		default:
			v[2]++
		}
		byF[op.F] = v
	}
	fs := make([]string, 0, len(byF))
	for f := range byF {
		fs = append(fs, string(f))
	}
	slices.Sort(fs)
	for _, f := range fs {
		v := byF[history.F(f)]
		fmt.Fprintf(&b, "          %-8s %6d ok %6d fail %6d info\n", f, v[0], v[1], v[2])
	}
	kinds := map[nemesis.Kind]int{}
	var faultErrs []string
	for _, e := range timeline {
		if e.Phase == "start" {
			kinds[e.Kind]++
		}
		if e.Err != "" {
			faultErrs = append(faultErrs, e.String())
		}
	}
	var ks []string
	for k, n := range kinds {
		ks = append(ks, fmt.Sprintf("%s x%d", k, n))
	}
	slices.Sort(ks)
	fmt.Fprintf(&b, "faults    %d: %s\n", rep.Faults, orNone(strings.Join(ks, ", ")))
	for _, e := range faultErrs {
		fmt.Fprintf(&b, "          nemesis error: %s\n", e)
	}
	if rep.WAN != nil {
		fmt.Fprintf(&b, "wan       %s (%s)\n", rep.WAN.Conditions, rep.WAN.Method)
		fmt.Fprintf(&b, "          how: %s\n", rep.WAN.How)
		fmt.Fprintf(&b, "          seen: %s\n", rep.WAN.Stats)
	}
	if cfg.Mode == Regions && kinds[nemesis.ClockSkew] > 0 {
		fmt.Fprintf(&b, "clock     max-clock-offset %s; %d remote stamps logged ahead beyond it\n", cfg.MaxClockOffset, rep.ClockAhead)
	}
	if rep.Converge.Converged {
		fmt.Fprintf(&b, "converge  %.1fs\n", rep.Converge.Elapsed.Seconds())
	} else {
		fmt.Fprintf(&b, "converge  %s\n", firstOr(rep.Converge.Notes, rep.Converge.Anomalies, "not converged"))
	}
	anomalies := 0
	for _, r := range rep.Results {
		anomalies += len(r.Anomalies)
	}
	fmt.Fprintf(&b, "anomalies %d\n", anomalies)
	for _, r := range rep.Results {
		fmt.Fprintf(&b, "  %-11s %s\n", r.Checker, r.Valid)
		for i, a := range r.Anomalies {
			if i == 5 {
				fmt.Fprintf(&b, "      ... %d more in verdict.json\n", len(r.Anomalies)-5)
				break
			}
			fmt.Fprintf(&b, "      %s\n", a)
		}
		if r.Valid != "valid" {
			for _, n := range r.Notes {
				fmt.Fprintf(&b, "      note: %s\n", n)
			}
		}
	}
	fmt.Fprintf(&b, "files     %s/{summary.txt,verdict.json,history.jsonl,nemesis.txt,plan.txt,logs/}\n", rep.Dir)
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func firstOr(a, b []string, def string) string {
	if len(a) > 0 {
		return a[0]
	}
	if len(b) > 0 {
		return b[0]
	}
	return def
}
