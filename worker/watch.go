package worker

import (
	"context"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
)

// WatchCampaigns reloads the campaigns folder whenever its files change
// (checked every interval) until ctx ends. A folder with errors is not
// loaded: the engine keeps the last good campaigns and the problems are
// logged, so a typo never stops running campaigns.
func (e *Engine) WatchCampaigns(ctx context.Context, dir string, every time.Duration) {
	last := folderSignature(dir)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		sig := folderSignature(dir)
		if sig == last {
			continue
		}
		last = sig
		list, problems := CampaignSettings(e.opts.Insights).Load(dir)
		if campaigns.HasErrors(problems) {
			for _, p := range problems {
				e.opts.Logger.Error("campaign file problem; keeping the previous campaigns", "problem", p.String())
			}
			continue
		}
		e.SetCampaigns(list)
		e.opts.Logger.Info("campaigns reloaded", "dir", dir, "campaigns", len(list))
	}
}

// CampaignSettings are the campaign Settings of a deployment whose insights
// use opts: rules may compare rfm.segment with the configured segment map.
func CampaignSettings(opts InsightsOptions) campaigns.Settings {
	var s campaigns.Settings
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
