package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/tidings-crm/tidings/insights"
	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/worker"
)

// reportGlobalHoldout prints the global holdout's comparison over
// [from, to).
func (a *app) reportGlobalHoldout(ctx context.Context, from, to string, asJSON bool) error {
	g := a.cfg.GlobalHoldout()
	if g.Share == 0 {
		return fmt.Errorf("no global holdout is configured: set TIDINGS_GLOBAL_HOLDOUT (e.g. 5%%) and let it run before measuring it")
	}
	f, err := time.Parse(time.DateOnly, from)
	if err != nil {
		return fmt.Errorf("--from %q: write the period's first day as YYYY-MM-DD", from)
	}
	t, err := time.Parse(time.DateOnly, to)
	if err != nil || !t.After(f) {
		return fmt.Errorf("--to %q: write the day after the period as YYYY-MM-DD, after --from", to)
	}
	st, err := a.openStore(ctx, true)
	if err != nil {
		return err
	}
	defer st.Close()
	var rep *worker.GlobalHoldoutReport
	err = st.Read(ctx, func(rd *store.Store) error { // the read replica, when there is one
		rep, err = worker.ReportGlobalHoldout(ctx, rd, g, f, t)
		return err
	})
	if err != nil {
		return err
	}
	if asJSON {
		out, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(a.stdout, "%s\n", out)
		return err
	}
	printGlobalHoldout(a.stdout, rep)
	return nil
}

func printGlobalHoldout(w io.Writer, r *worker.GlobalHoldoutReport) {
	fmt.Fprintf(w, "global holdout %.1f%%, %s to %s\n\n", 100*r.Share, r.From.Format(time.DateOnly), r.To.Format(time.DateOnly))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "group\tcustomers\tbuyers\torders\trevenue\torders per customer\trevenue per customer\t")
	for _, g := range []struct {
		name string
		o    worker.GroupOutcome
	}{{"holdout", r.Holdout}, {"everyone else", r.Rest}} {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.2f\t%.4f\t%.2f\t\n", g.name, g.o.Customers, g.o.Buyers, g.o.Orders,
			float64(g.o.RevenueCents)/100, g.o.OrdersPer, g.o.RevenuePer)
	}
	tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintf(w, "orders per customer:  %s\n", meanCell(r.Orders, 4))
	fmt.Fprintf(w, "revenue per customer: %s\n", meanCell(r.Revenue, 2))
	if r.Buyers != nil {
		fmt.Fprintf(w, "share who bought:     %+.2f points (95%% CI %+.2f to %+.2f)\n", 100*r.Buyers.Diff, 100*r.Buyers.Low, 100*r.Buyers.High)
	}
}

// meanCell is a lift of everyone else over the holdout, with its interval.
func meanCell(d *insights.MeanDiff, digits int) string {
	if d == nil {
		return "- (a group is empty)"
	}
	verdict := "not significant"
	if d.Significant {
		verdict = "significant"
	}
	return fmt.Sprintf("%+.*f (%+.1f%%), 95%% CI %+.*f to %+.*f, %s", digits, d.Diff, 100*d.Relative,
		digits, d.Low, digits, d.High, verdict)
}
