package worker

import (
	"context"
	"fmt"
	"hash/fnv"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
)

// BrokenFile is a campaign file that did not load, as the log, /readyz and
// the dashboard show it: its first problems, and the campaign that keeps
// running its last valid version, if the file held one before it broke.
type BrokenFile struct {
	File     string   `json:"file"`
	Problems []string `json:"problems"` // the first few errors, as file:line:col: message
	More     int      `json:"more_problems,omitempty"`
	Kept     string   `json:"kept_campaign,omitempty"`
}

// folderState is what the last LoadCampaigns saw: the folder's signature
// (so the watcher reloads on any change since, even one made before it
// started) and the files that did not load.
type folderState struct {
	sig    uint64
	broken []BrokenFile
}

// brokenShown bounds the problems listed per broken file; validate lists all.
const brokenShown = 3

// LoadCampaigns loads the campaigns folder and makes its valid campaigns the
// running set; it returns every problem found. One broken file never stops
// the others: a file with errors is left out and reported (log,
// BrokenCampaignFiles), and a campaign that was loaded from a file that is
// now broken (or now shares its id with another file) keeps running its last
// valid version until the file is fixed. A file that is gone takes its
// campaign with it.
func (e *Engine) LoadCampaigns(dir string) []campaigns.Problem {
	sig := folderSignature(dir) // before reading: a change during the load is seen next time
	settings := CampaignSettings(e.opts.Insights, e.opts.Topics, e.opts.WebhookHosts)
	settings.LedgerRetention = e.opts.LedgerRetention
	list, problems := settings.Load(dir)
	errs := map[string][]campaigns.Problem{}
	for _, p := range problems {
		if p.Severity == campaigns.SeverityError {
			errs[p.File] = append(errs[p.File], p)
		} else {
			e.opts.Logger.Warn("campaign file warning", "problem", p.String())
		}
	}
	folderBroken := len(errs[dir]) > 0 || len(errs[filepath.Clean(dir)]) > 0
	loaded := map[string]bool{}
	for _, c := range list {
		loaded[c.ID] = true
	}
	kept := map[string]string{} // file -> campaign id running its last valid version
	for _, old := range e.Campaigns() {
		if (folderBroken || len(errs[old.File]) > 0) && !loaded[old.ID] {
			list = append(list, old)
			loaded[old.ID] = true
			kept[old.File] = old.ID
		}
	}
	files := slices.Sorted(maps.Keys(errs))
	broken := make([]BrokenFile, 0, len(files))
	for _, file := range files {
		ps := errs[file]
		b := BrokenFile{File: file, Kept: kept[file], More: max(0, len(ps)-brokenShown)}
		for _, p := range ps[:min(len(ps), brokenShown)] {
			b.Problems = append(b.Problems, p.String())
		}
		broken = append(broken, b)
		e.logBroken(b, ps)
	}
	e.SetCampaigns(list)
	e.folder.Store(&folderState{sig: sig, broken: broken})
	return problems
}

// logBroken logs each error of a broken file, saying what became of it.
func (e *Engine) logBroken(b BrokenFile, ps []campaigns.Problem) {
	for _, p := range ps {
		if b.Kept != "" {
			e.opts.Logger.Warn("campaign file has errors; the campaign keeps running its last valid version until it is fixed",
				"campaign", b.Kept, "problem", p.String())
			continue
		}
		e.opts.Logger.Error("campaign file has errors; it is not loaded (the other campaigns run)", "problem", p.String())
	}
}

// BrokenCampaignFiles lists the campaign files that did not load at the last
// LoadCampaigns, sorted by name (none: an empty list).
func (e *Engine) BrokenCampaignFiles() []BrokenFile {
	if f := e.folder.Load(); f != nil {
		return f.broken
	}
	return nil
}

// WatchCampaigns reloads the campaigns folder whenever its files change
// (checked every interval) until ctx ends, with LoadCampaigns: a typo in one
// file never stops the campaigns that are running. Changes made since the
// last LoadCampaigns count, even those made before the watch started.
func (e *Engine) WatchCampaigns(ctx context.Context, dir string, every time.Duration) {
	reloadOnChange(ctx, every, func() bool {
		f := e.folder.Load()
		return f == nil || f.sig != folderSignature(dir)
	}, func() {
		e.LoadCampaigns(dir)
		e.opts.Logger.Info("campaigns reloaded", "dir", dir, "campaigns", len(e.Campaigns()),
			"broken_files", len(e.BrokenCampaignFiles()))
	})
}

// reloadOnChange calls reload whenever changed says so, checked every
// interval, until ctx ends.
func reloadOnChange(ctx context.Context, every time.Duration, changed func() bool, reload func()) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if changed() {
			reload()
		}
	}
}

// CampaignSettings are the campaign Settings of a deployment whose insights
// use opts, whose topics are topics and whose webhook channel may post to
// hosts: rules may compare rfm.segment with the configured segment map,
// campaigns and rules name those topics, webhook urls name those hosts.
func CampaignSettings(opts InsightsOptions, topics []campaigns.Topic, hosts []string) campaigns.Settings {
	s := campaigns.Settings{Topics: topics, WebhookHosts: hosts}
	if m := opts.Score.Segments; m != nil {
		s.Segments = m.Names()
	}
	return s
}

// folderSignature hashes the names, sizes and modification times of the
// folder's campaign files.
func folderSignature(dir string) uint64 {
	var names []string
	for _, pat := range []string{"*.yaml", "*.yml"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		names = append(names, m...)
	}
	sort.Strings(names)
	h := fnv.New64a()
	for _, n := range names {
		fi, err := os.Stat(n)
		if err != nil {
			continue
		}
		fmt.Fprintf(h, "%s|%d|%d\n", n, fi.Size(), fi.ModTime().UnixNano())
	}
	return h.Sum64()
}
