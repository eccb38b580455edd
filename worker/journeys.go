package worker

import (
	"github.com/tidings-crm/tidings/campaigns"
)

// The journey engine is not built yet (issue #15): a journey file (steps:)
// validates and previews, and LoadCampaigns leaves it out of the running
// set, so the scheduler, runs by hand and event reactions never see it. Run
// as a one-message campaign it would plan messages it does not have.

// withoutJourneys returns list without its journeys, saying once per
// journey and engine that it is not run.
func (e *Engine) withoutJourneys(list []*campaigns.Campaign) []*campaigns.Campaign {
	out := make([]*campaigns.Campaign, 0, len(list))
	for _, c := range list {
		if c.Journey == nil {
			out = append(out, c)
			continue
		}
		if _, said := e.journeysSaid.LoadOrStore(c.ID, true); !said {
			e.opts.Logger.Warn("journey loaded but not run: the journey engine is not built yet; "+
				"tidings validate checks it and tidings preview shows a customer's path", "campaign", c.ID)
		}
	}
	return out
}
