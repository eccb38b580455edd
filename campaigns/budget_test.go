package campaigns

import (
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"
)

// budgetCampaign is a campaign whose email text and html are tmpl, for
// loops validate cannot see (their lengths come from customer data).
func budgetCampaign(t *testing.T, tmpl string) *Campaign {
	t.Helper()
	return parseMini(t, "  email:\n    subject: Hi\n    text: '"+tmpl+"'\n    html: '<p>"+tmpl+"</p>'\n"+
		"  sms:\n    text: hi\n")
}

// budgetData returns the data of a customer with tags for c.
func budgetData(c *Campaign, tags []string) map[string]any {
	env := sampleEnv("en")
	env.Tags = tags
	return c.Data(env, "", "https://x.example/u")
}

// allocated runs f and returns the bytes it allocated.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestTemplateOutputStopsAtTheLimit(t *testing.T) {
	c := budgetCampaign(t, "{{ range .attributes.blocks }}{{ . }}{{ end }}")
	block := strings.Repeat("x", 1000)
	blocks := make([]any, 5000) // 5 MB of output if nothing stopped it
	for i := range blocks {
		blocks[i] = block
	}
	env := sampleEnv("en")
	env.Attributes = map[string]any{"blocks": blocks}
	data := c.Data(env, "", "https://x.example/u")

	// The writer holds at most the limit, and stops within one block of it.
	tmpl := c.messages.lookup(Email, "", "en", fieldText)
	e, err := tmpl.forLocale("en")
	if err != nil {
		t.Fatal(err)
	}
	w := &limitedWriter{b: newBudget()}
	err = e.Execute(w, data)
	if !errors.Is(err, ErrTemplateBudget) || w.Len() > MaxTemplateOutput || w.Len() < MaxTemplateOutput-len(block) {
		t.Errorf("Execute wrote %d bytes, err %v; want %d bytes at most (and at least %d), and ErrTemplateBudget",
			w.Len(), err, MaxTemplateOutput, MaxTemplateOutput-len(block))
	}

	var r Rendered
	mem := allocated(func() { r, err = Render(c, "email", "en", "", data) })
	want := "render mini email.text: template budget exceeded: the message is longer than 256 KiB"
	if err == nil || err.Error() != want || r.Text != "" {
		t.Errorf("Render = %q, %v; want the error %q", r.Text, err, want)
	}
	if mem > 8*MaxTemplateOutput {
		t.Errorf("Render allocated %d bytes for a 5 MB template, want at most %d", mem, 8*MaxTemplateOutput)
	}
}

func TestTemplateLoopsStopAtTheStepLimit(t *testing.T) {
	// Two nested loops over the tags, writing nothing: 10^10 iterations with
	// 100,000 tags, invisible to validate (a list counts as 50 items).
	c := budgetCampaign(t, "{{ range .tags }}{{ range $.tags }}{{ end }}{{ end }}")
	data := budgetData(c, make([]string, 100_000))

	b := newBudget()
	data[budgetKey] = b
	tmpl := c.messages.lookup(Email, "", "en", fieldHTML)
	out, err := tmpl.execute("en", data, b)
	if !errors.Is(err, ErrTemplateBudget) || b.steps != MaxTemplateSteps+1 || out != "" {
		t.Errorf("execute = %q, steps %d, err %v; want ErrTemplateBudget after %d steps", out, b.steps, err, MaxTemplateSteps+1)
	}

	delete(data, budgetKey)
	_, err = Render(c, "email", "en", "", data)
	want := "render mini email.text: template budget exceeded: its loops ran more than 10,000 times; " +
		"loop over fewer items (e.g. range slice .list 0 10)"
	if err == nil || err.Error() != want {
		t.Errorf("Render err = %v, want %q", err, want)
	}
}

func TestTemplateOverItsTimeFails(t *testing.T) {
	c := budgetCampaign(t, "{{ range .tags }}{{ . }}{{ end }}")
	data := budgetData(c, []string{"a", "b"})
	b := &budget{deadline: time.Now().Add(-time.Millisecond)} // already spent
	data[budgetKey] = b
	_, err := c.messages.lookup(Email, "", "en", fieldText).execute("en", data, b)
	if want := "template budget exceeded: it ran longer than 1s"; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestTemplatesWithinBudgetRenderAsBefore(t *testing.T) {
	c := budgetCampaign(t, "{{ range $i, $t := .tags }}{{ if $i }}, {{ end }}{{ $t }}{{ end }}{{ $n := 100000 }}{{ $n = 3 }}{{ range $n }}!{{ end }}")
	data := budgetData(c, []string{"vip", "<b>"})
	r, err := Render(c, "email", "en", "", data)
	if err != nil || r.Text != "vip, <b>!!!" || r.HTML != "<p>vip, &lt;b&gt;!!!</p>" {
		t.Errorf("Render = %q / %q, %v", r.Text, r.HTML, err)
	}
	if _, ok := data[budgetKey]; ok {
		t.Error("Render wrote its budget into the caller's data")
	}
}
