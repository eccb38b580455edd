package worker

import (
	"context"
	"time"

	"github.com/tidings-crm/tidings/campaigns"
	"github.com/tidings-crm/tidings/insights"
	"github.com/tidings-crm/tidings/store"
)

// SurveyReport sums up the answers to a campaign's survey messages on one
// scale (each message's latest answer counts once): how many answered, the
// promoters, passives and detractors (CSAT: 4-5, 3, 1-2), the NPS with its
// 95% interval (NPS surveys), the mean score and the share satisfied.
type SurveyReport struct {
	Kind       campaigns.SurveyKind `json:"kind"`
	Responses  int64                `json:"responses"`
	Promoters  int64                `json:"promoters"`
	Passives   int64                `json:"passives"`
	Detractors int64                `json:"detractors"`
	// NPS is set for an NPS survey with answers.
	NPS *insights.NPS `json:"nps,omitempty"`
	// Mean is the average score; Satisfied the share of promoters (CSAT's
	// "satisfied", 4-5), 0 to 1.
	Mean      float64 `json:"mean"`
	Satisfied float64 `json:"satisfied"`
	// Scores counts the answers per score, lowest first (index 0 is the
	// scale's lowest score).
	Scores []int64 `json:"scores"`
}

// SummarizeScores makes the report of kind from answer counts (any keys:
// the rows of store.ScoresByCampaign or ScoresByDay for one campaign or
// one period).
func SummarizeScores(kind campaigns.SurveyKind, counts []store.ScoreCount) SurveyReport {
	lo, hi, _ := kind.Scale()
	r := SurveyReport{Kind: kind, Scores: make([]int64, hi-lo+1)}
	var sum int64
	for _, c := range counts {
		if !kind.Valid(c.Score) {
			continue
		}
		n := int64(c.N)
		r.Scores[c.Score-lo] += n
		r.Responses += n
		sum += n * int64(c.Score)
		switch kind.Class(c.Score) {
		case "promoter":
			r.Promoters += n
		case "passive":
			r.Passives += n
		default:
			r.Detractors += n
		}
	}
	if r.Responses == 0 {
		return r
	}
	r.Mean = float64(sum) / float64(r.Responses)
	r.Satisfied = float64(r.Promoters) / float64(r.Responses)
	if kind == campaigns.SurveyNPS {
		if nps, ok := insights.NetPromoterScore(r.Promoters, r.Passives, r.Detractors); ok {
			r.NPS = &nps
		}
	}
	return r
}

// surveyReports are the campaign's survey results, one per scale it has
// answers on (none for a campaign without survey answers).
func (e *Engine) surveyReports(ctx context.Context, rd *store.Store, campaignID string) ([]SurveyReport, error) {
	var out []SurveyReport
	for _, k := range campaigns.SurveyKinds {
		counts, err := rd.ScoresByCampaign(ctx, string(k), campaignID, time.Time{}, farFuture)
		if err != nil {
			return nil, err
		}
		if len(counts) > 0 {
			out = append(out, SummarizeScores(k, counts))
		}
	}
	return out, nil
}

// farFuture bounds queries over all time.
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// SurveyOverview is the dashboard's view of satisfaction: the NPS per week
// over a period and per campaign, and the CSAT per campaign.
type SurveyOverview struct {
	From, To time.Time
	// Weeks are the NPS answers per week (weeks start on Monday, UTC),
	// oldest first, weeks without answers left out.
	Weeks []SurveyWeek `json:"weeks"`
	// NPS and CSAT hold one report per campaign with answers, by campaign id.
	NPS  []CampaignSurvey `json:"nps"`
	CSAT []CampaignSurvey `json:"csat"`
	// All pools every campaign's NPS answers of the period.
	All SurveyReport `json:"all"`
}

// SurveyWeek is one week's NPS answers.
type SurveyWeek struct {
	Week string `json:"week"` // its Monday, 2006-01-02
	SurveyReport
}

// CampaignSurvey is one campaign's answers on one scale.
type CampaignSurvey struct {
	Campaign string `json:"campaign"`
	Name     string `json:"name"` // "" when the campaign is no longer loaded
	SurveyReport
}

// SurveyOverview sums up the survey answers given in [from, to), read from
// the read replica when there is one (store.Read).
func (e *Engine) SurveyOverview(ctx context.Context, from, to time.Time) (SurveyOverview, error) {
	var out SurveyOverview
	err := e.st.Read(ctx, func(rd *store.Store) error {
		var err error
		out, err = e.surveyOverview(ctx, rd, from, to)
		return err
	})
	return out, err
}

func (e *Engine) surveyOverview(ctx context.Context, rd *store.Store, from, to time.Time) (SurveyOverview, error) {
	out := SurveyOverview{From: from, To: to}
	days, err := rd.ScoresByDay(ctx, string(campaigns.SurveyNPS), from, to)
	if err != nil {
		return out, err
	}
	var weekKeys []string
	byWeek := map[string][]store.ScoreCount{}
	for _, d := range days {
		wk := d.Day.AddDate(0, 0, -((int(d.Day.Weekday()) + 6) % 7)).Format(time.DateOnly)
		if _, ok := byWeek[wk]; !ok {
			weekKeys = append(weekKeys, wk)
		}
		byWeek[wk] = append(byWeek[wk], d)
	}
	for _, wk := range weekKeys {
		out.Weeks = append(out.Weeks, SurveyWeek{Week: wk, SurveyReport: SummarizeScores(campaigns.SurveyNPS, byWeek[wk])})
	}
	out.All = SummarizeScores(campaigns.SurveyNPS, days)
	for _, k := range campaigns.SurveyKinds {
		rows, err := rd.ScoresByCampaign(ctx, string(k), "", from, to)
		if err != nil {
			return out, err
		}
		var list []CampaignSurvey
		for i := 0; i < len(rows); {
			j := i
			for j < len(rows) && rows[j].Campaign == rows[i].Campaign {
				j++
			}
			cs := CampaignSurvey{Campaign: rows[i].Campaign, SurveyReport: SummarizeScores(k, rows[i:j])}
			if c, ok := e.Campaign(rows[i].Campaign); ok {
				cs.Name = c.Name
			}
			list = append(list, cs)
			i = j
		}
		if k == campaigns.SurveyNPS {
			out.NPS = list
		} else {
			out.CSAT = list
		}
	}
	return out, nil
}
