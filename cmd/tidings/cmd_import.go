package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/tidings-crm/tidings/store"
	"github.com/tidings-crm/tidings/store/imports"
	"github.com/tidings-crm/tidings/worker"
)

type importFunc func(ctx context.Context, st *store.Store, r io.Reader, opts imports.Options) (imports.Summary, error)

func (a *app) importCommand() *cobra.Command {
	var noRefresh bool
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Import customers or purchases from files",
		Long: `import streams a file into the database in batches. Re-importing the same file
changes nothing. Bad rows are reported with their line number and reason and
the good rows are imported; the exit status is 1 when any row was rejected.
A bad cell is reported as FILE:LINE:COLUMN (a byte column) with its column
name: a value that is not UTF-8, holds a NUL byte or is too long (255 bytes
for ids, 4,096 for any other cell) rejects its row, never the file.`,
	}
	purchases := &cobra.Command{
		Use:   "purchases FILE",
		Short: "Import purchases from a CSV file or a CDNOW-format log",
		Long: `CSV columns: order_id, customer_id (the customer's external id), amount,
currency, quantity, occurred_at (RFC 3339 or YYYY-MM-DD), items (optional JSON).
The CDNOW log format (customer_id YYYYMMDD quantity dollars, whitespace
separated, no header) is detected automatically. Customers that do not exist
yet are created. Purchase metrics are recomputed for every touched customer,
and when any purchase was added or changed the customer scores (lifecycle,
rfm, p_alive, clv) are refreshed as of now, as "tidings insights refresh"
does (--no-refresh skips it and says what to run).`,
		Example: "  tidings import purchases ../shared/data/cdnow/CDNOW_master.txt",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runImport(cmd.Context(), args[0], imports.Purchases, !noRefresh)
		},
	}
	purchases.Flags().BoolVar(&noRefresh, "no-refresh", false, "do not refresh customer scores after the import")
	cmd.AddCommand(&cobra.Command{
		Use:   "customers FILE.csv",
		Short: "Import customers from a CSV file with a header row",
		Long: `Columns: external_id (required), email, phone, first_name, last_name, locale,
time_zone (IANA, e.g. Europe/Paris), birthday (YYYY-MM-DD), email_consent,
sms_consent (true/false), tags (separated by ;). Any other column becomes a
custom attribute, available to rules as attributes.<column>.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runImport(cmd.Context(), args[0], imports.Customers, false)
		},
	}, purchases)
	return cmd
}

// runImport imports path with fn; with refresh, customer scores are
// refreshed afterwards when any row was added or changed.
func (a *app) runImport(ctx context.Context, path string, fn importFunc, refresh bool) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	st, err := a.openStore(ctx, true)
	if err != nil {
		return err
	}
	defer st.Close()

	var size int64
	if fi, err := f.Stat(); err == nil {
		size = fi.Size()
	}
	bar := newProgress(a.stderr, size)
	started := time.Now()
	sum, err := fn(ctx, st, f, imports.Options{Progress: bar.update})
	bar.done()
	if err != nil {
		return fmt.Errorf("import %s: %w", path, err)
	}
	printSummary(a.stdout, path, sum, time.Since(started))
	if err := a.refreshAfterImport(ctx, st, sum, refresh); err != nil {
		return err
	}
	if sum.RejectedCount > 0 {
		return exitError{code: 1}
	}
	return nil
}

// refreshAfterImport brings the scores of a purchase import up to date (or
// says it did not): rules reading lifecycle, rfm or p_alive would otherwise
// see none for new customers and stale ones for the rest.
func (a *app) refreshAfterImport(ctx context.Context, st *store.Store, sum imports.Summary, refresh bool) error {
	if sum.Inserted+sum.Updated == 0 {
		return nil
	}
	if !refresh {
		fmt.Fprintf(a.stdout, "customer scores not refreshed (--no-refresh): run %q before campaigns that read "+
			"lifecycle, rfm, p_alive or clv\n", worker.RefreshCommand)
		return nil
	}
	rep, err := a.refreshNow(ctx, st, time.Now().UTC(), false)
	if err != nil {
		return fmt.Errorf("import: purchases stored, but refreshing customer scores failed (run %q): %w",
			worker.RefreshCommand, err)
	}
	fmt.Fprintf(a.stdout, "customer scores refreshed as of %s: %d customers (%d buyers) in %s\n",
		rep.At.Format(time.RFC3339), rep.Customers, rep.Buyers, rep.Elapsed.Round(time.Millisecond))
	for _, w := range rep.Warnings {
		fmt.Fprintf(a.stdout, "warning: %s\n", w)
	}
	return nil
}

func printSummary(w io.Writer, path string, s imports.Summary, took time.Duration) {
	fmt.Fprintf(w, "%s: %d rows read in %s: %d inserted, %d updated, %d unchanged, %d rejected\n",
		path, s.Read, took.Round(time.Millisecond), s.Inserted, s.Updated, s.Unchanged, s.RejectedCount)
	for _, r := range s.Rejected {
		if r.Column > 0 {
			fmt.Fprintf(w, "  %s:%d:%d: %s\n", path, r.Line, r.Column, r.Reason)
		} else {
			fmt.Fprintf(w, "  %s:%d: %s\n", path, r.Line, r.Reason)
		}
	}
	if more := s.RejectedCount - len(s.Rejected); more > 0 {
		fmt.Fprintf(w, "  ... and %d more rejected rows\n", more)
	}
}

// progress draws a one-line bar on stderr when stderr is a terminal; on a pipe
// or in CI it stays silent so logs are not flooded.
type progress struct {
	w     io.Writer
	total int64
	on    bool
	last  time.Time
}

func newProgress(w io.Writer, total int64) *progress {
	f, ok := w.(*os.File)
	return &progress{w: w, total: total, on: ok && term.IsTerminal(int(f.Fd()))}
}

func (p *progress) update(read int64) {
	if !p.on || time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	if p.total <= 0 {
		fmt.Fprintf(p.w, "\r%s read", humanBytes(read))
		return
	}
	frac := float64(read) / float64(p.total)
	if frac > 1 {
		frac = 1
	}
	const width = 30
	n := int(frac * width)
	fmt.Fprintf(p.w, "\r[%s%s] %3.0f%% %s / %s", strings.Repeat("=", n), strings.Repeat(" ", width-n),
		frac*100, humanBytes(read), humanBytes(p.total))
}

func (p *progress) done() {
	if p.on {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
