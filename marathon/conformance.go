package marathon

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
)

// The conformance corpus (../shared/marathon-corpus) holds definitions
// taken from Marathon's own repository, and cases.tsv says for each one its
// kind, the rule set that decides it, whether Marathon accepts it, and a
// substring of Marathon's error. A case agrees when Validate gives the same
// outcome and, when a message is pinned, one of its errors contains it.

// Case is one line of cases.tsv.
type Case struct {
	File    string // relative to the corpus directory
	Kind    Kind
	Valid   bool
	Rules   string // "head", "head,previous-role=*", "head,features=external_volumes", "schema", "update", "legacy"
	Message string // "" when not pinned
}

// CaseResult is the outcome of one case.
type CaseResult struct {
	Case
	Err    error  // what Validate returned
	Agreed bool   // outcome and message as expected
	Why    string // why not, when !Agreed
}

// LoadCases reads dir/cases.tsv.
func LoadCases(dir string) ([]Case, error) {
	f, err := os.Open(filepath.Join(dir, "cases.tsv"))
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	defer f.Close()
	var cases []Case
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		cols := strings.Split(text, "\t")
		if len(cols) != 5 || (cols[2] != "valid" && cols[2] != "invalid") {
			return nil, fmt.Errorf("corpus: cases.tsv line %d: want file, kind, valid|invalid, rules, message", line)
		}
		c := Case{File: cols[0], Kind: Kind(cols[1]), Valid: cols[2] == "valid", Rules: cols[3], Message: cols[4]}
		if c.Message == "-" {
			c.Message = ""
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	if len(cases) == 0 {
		return nil, fmt.Errorf("corpus: %s/cases.tsv has no cases", dir)
	}
	return cases, nil
}

// RuleSet is the case's rule set without its parameters ("head", "update", ...).
func (c Case) RuleSet() string {
	name, _, _ := strings.Cut(c.Rules, ",")
	return name
}

// Options are the Validate options the case's rules stand for: a Marathon
// with --mesos_role foo for "head" (as the corpus README says), the
// previous role when the rules name one ("previous-role=*"), and each
// feature they enable ("features=external_volumes", Marathon's
// --enable_features).
func (c Case) Options() (Options, error) {
	parts := strings.Split(c.Rules, ",")
	var o Options
	switch parts[0] {
	case "head":
		o = Options{Rules: RulesHead, MesosRole: "foo"}
	case "schema", "update":
		o = Options{Rules: RulesSchema}
	case "legacy":
		o = Options{Rules: RulesLegacy}
	default:
		return o, fmt.Errorf("%w: unknown rules %q", ErrBadInput, c.Rules)
	}
	for _, p := range parts[1:] {
		if role, ok := strings.CutPrefix(p, "previous-role="); ok {
			o.PreviousRole = role
		} else if f, ok := strings.CutPrefix(p, "features="); ok && f != "" {
			o.Features = append(o.Features, f)
		} else {
			return o, fmt.Errorf("%w: unknown rule parameter %q", ErrBadInput, p)
		}
	}
	return o, nil
}

// RunCase validates one case's file and compares with what Marathon does.
func RunCase(dir string, c Case) CaseResult {
	r := CaseResult{Case: c}
	data, err := os.ReadFile(filepath.Join(dir, c.File))
	if err != nil {
		r.Err, r.Why = err, err.Error()
		return r
	}
	opts, err := c.Options()
	if err != nil {
		r.Err, r.Why = err, err.Error()
		return r
	}
	r.Err = Validate(c.Kind, data, opts)
	var ve *ValidationError
	switch {
	case r.Err != nil && !errors.As(r.Err, &ve):
		r.Why = "not validated: " + r.Err.Error()
	case c.Valid && r.Err != nil:
		r.Why = "Marathon accepts it, zkfence refuses: " + r.Err.Error()
	case !c.Valid && r.Err == nil:
		r.Why = "Marathon refuses it, zkfence accepts it"
	case !c.Valid && c.Message != "" && !ve.Has("", c.Message):
		r.Why = fmt.Sprintf("no error contains %q: %v", c.Message, r.Err)
	default:
		r.Agreed = true
	}
	return r
}

// RunCorpus runs every case of the corpus in dir.
func RunCorpus(dir string) ([]CaseResult, error) {
	cases, err := LoadCases(dir)
	if err != nil {
		return nil, err
	}
	results := make([]CaseResult, len(cases))
	for i, c := range cases {
		results[i] = RunCase(dir, c)
	}
	return results, nil
}

// ConformanceTable is the agreement by rule set, then the total, as text:
//
//	rule set  agreed  total
//	head      45      45
func ConformanceTable(results []CaseResult) string {
	agreed, total := map[string]int{}, map[string]int{}
	for _, r := range results {
		total[r.RuleSet()]++
		if r.Agreed {
			agreed[r.RuleSet()]++
		}
	}
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "rule set\tagreed\ttotal")
	sets := sortedKeys(total)
	sort.Strings(sets)
	var a, t int
	for _, s := range sets {
		fmt.Fprintf(w, "%s\t%d\t%d\n", s, agreed[s], total[s])
		a, t = a+agreed[s], t+total[s]
	}
	fmt.Fprintf(w, "all\t%d\t%d\n", a, t)
	w.Flush()
	return b.String()
}
