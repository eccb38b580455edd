package worker

import (
	"context"
	"fmt"
	"hash/fnv"
	"os"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
)

// policyFile is what the last LoadPolicy saw: the file's signature (so the
// watcher reloads on any change since) and its problems when it did not
// load.
type policyFile struct {
	sig    uint64
	broken *BrokenFile
}

// Policy returns the contact policy in force.
func (e *Engine) Policy() *campaigns.Policy { return e.policy.Load() }

// SetPolicy makes p the contact policy in force (nil: the default).
func (e *Engine) SetPolicy(p *campaigns.Policy) {
	if p == nil {
		p = campaigns.DefaultPolicy()
	}
	e.policy.Store(p)
}

// LoadPolicy reads the policy file and, when it is valid, makes it the
// policy in force. A file with errors changes nothing: the policy in force
// (its last valid version, or the default) stays, and the file is reported
// (log, BrokenPolicy) until it is fixed. It returns every problem found.
func (e *Engine) LoadPolicy(file string) []campaigns.Problem {
	sig := fileSignature(file) // before reading: a change during the load is seen next time
	p, problems := campaigns.LoadPolicy(file)
	state := &policyFile{sig: sig}
	if p != nil {
		for _, pr := range problems {
			e.opts.Logger.Warn("policy file warning", "problem", pr.String())
		}
		e.SetPolicy(p)
		e.polFile.Store(state)
		return problems
	}
	kept := "the default policy"
	if f := e.Policy().File; f != "" {
		kept = "its last valid version"
	}
	b := &BrokenFile{File: file, More: max(0, len(problems)-brokenShown)}
	for i, pr := range problems {
		if i < brokenShown {
			b.Problems = append(b.Problems, pr.String())
		}
		if pr.Severity == campaigns.SeverityError {
			e.opts.Logger.Error("policy file has errors; "+kept+" stays in force until it is fixed", "problem", pr.String())
		}
	}
	state.broken = b
	e.polFile.Store(state)
	return problems
}

// BrokenPolicy returns the policy file's problems when its last load failed
// (nil when it loaded, or none is used).
func (e *Engine) BrokenPolicy() *BrokenFile {
	if f := e.polFile.Load(); f != nil {
		return f.broken
	}
	return nil
}

// WatchPolicy reloads the policy file whenever it changes (checked every
// interval) until ctx ends, with LoadPolicy: a broken edit never replaces
// the policy in force.
func (e *Engine) WatchPolicy(ctx context.Context, file string, every time.Duration) {
	reloadOnChange(ctx, every, func() bool {
		f := e.polFile.Load()
		return f == nil || f.sig != fileSignature(file)
	}, func() {
		if problems := e.LoadPolicy(file); !campaigns.HasErrors(problems) {
			e.opts.Logger.Info("policy reloaded", "file", file)
		}
	})
}

// fileSignature hashes a file's size and modification time (0 when it
// cannot be read: a missing file is a change too).
func fileSignature(file string) uint64 {
	fi, err := os.Stat(file)
	if err != nil {
		return 0
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%d|%d", fi.Size(), fi.ModTime().UnixNano())
	return h.Sum64()
}
