package kpis

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/costexplorer"
	"github.com/aws/aws-sdk-go-v2/service/costexplorer/types"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/runs"
)

// CostAndUsage is the Cost Explorer call the bill is read with; *costexplorer.Client is one.
type CostAndUsage interface {
	GetCostAndUsage(ctx context.Context, in *costexplorer.GetCostAndUsageInput, opts ...func(*costexplorer.Options)) (*costexplorer.GetCostAndUsageOutput, error)
}

// NewCostExplorer is a Cost Explorer client from the usual AWS environment. Cost Explorer
// has one endpoint, in us-east-1, whatever the stack's region; a non-empty endpoint (moto)
// replaces it.
func NewCostExplorer(ctx context.Context, endpoint string) (*costexplorer.Client, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"))
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	return costexplorer.NewFromConfig(cfg, func(o *costexplorer.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}), nil
}

// Billed is what AWS billed one environment, per day.
type Billed struct {
	Currency string
	Days     map[time.Time]float64 // by UTC day
}

// costMetric is the bill's amount: unblended, what the account is charged before credits
// are shared out.
const costMetric = "UnblendedCost"

// maxPages bounds the pages one read follows: a year of days grouped by a tag is a few.
const maxPages = 100

// ReadBilled reads the daily cost of [from, to) grouped by the environment tag (tagKey, e.g.
// Environment) and returns it for each environment whose tag value is its name. Cost
// Explorer's days are UTC dates; the period is widened to whole days.
func ReadBilled(ctx context.Context, ce CostAndUsage, tagKey string, from, to time.Time) (map[environment.Name]*Billed, error) {
	start := from.UTC().Format(time.DateOnly)
	end := to.UTC().Add(24*time.Hour - time.Nanosecond).Format(time.DateOnly)
	out := map[environment.Name]*Billed{}
	var token *string
	for page := 0; ; page++ {
		if page == maxPages {
			return nil, fmt.Errorf("cost explorer: more than %d pages for %s to %s grouped by tag %s", maxPages, start, end, tagKey)
		}
		res, err := ce.GetCostAndUsage(ctx, &costexplorer.GetCostAndUsageInput{
			TimePeriod:    &types.DateInterval{Start: aws.String(start), End: aws.String(end)},
			Granularity:   types.GranularityDaily,
			Metrics:       []string{costMetric},
			GroupBy:       []types.GroupDefinition{{Type: types.GroupDefinitionTypeTag, Key: aws.String(tagKey)}},
			NextPageToken: token,
		})
		if err != nil {
			return nil, fmt.Errorf("cost explorer: cost of %s to %s by tag %s: %w", start, end, tagKey, err)
		}
		for _, byTime := range res.ResultsByTime {
			day, err := time.Parse(time.DateOnly, aws.ToString(byTime.TimePeriod.Start))
			if err != nil {
				return nil, fmt.Errorf("cost explorer: a result's start %q is not a date: %w", aws.ToString(byTime.TimePeriod.Start), err)
			}
			for _, g := range byTime.Groups {
				if len(g.Keys) != 1 {
					continue
				}
				// A tag group's key is "<tag key>$<value>"; "$" alone is untagged spend.
				value, ok := strings.CutPrefix(g.Keys[0], tagKey+"$")
				if !ok {
					continue
				}
				env, err := environment.ParseName(value)
				if err != nil {
					continue // another tag value: not one of the pipeline's environments
				}
				m, ok := g.Metrics[costMetric]
				if !ok {
					continue
				}
				amount, err := strconv.ParseFloat(aws.ToString(m.Amount), 64)
				if err != nil || math.IsNaN(amount) || math.IsInf(amount, 0) {
					return nil, fmt.Errorf("cost explorer: %s on %s: amount %q is not a number", env, day.Format(time.DateOnly), aws.ToString(m.Amount))
				}
				b := out[env]
				if b == nil {
					b = &Billed{Currency: aws.ToString(m.Unit), Days: map[time.Time]float64{}}
					out[env] = b
				}
				b.Days[day] += amount
			}
		}
		if token = res.NextPageToken; aws.ToString(token) == "" {
			return out, nil
		}
	}
}

// hoursPerMonth is Infracost's month: its monthly costs are hourly prices times 730.
const hoursPerMonth = 730

// MinBilledDays is how many billed days with an estimate in force a variance needs.
const MinBilledDays = 3

// variance compares the bill with the estimates in force each day of the period: a day's
// estimate is the latest successful deployment's monthly estimate before that day's end,
// prorated to 24 of Infracost's 730 hours a month.
func variance(rs []runs.Record, billed *Billed, target float64, from, to time.Time) KPI {
	k := KPI{Key: CostVariance, Name: "Cost variance, billed vs estimated", Unit: "%", Target: fmt.Sprintf("< %s%%", num(target))}
	if billed == nil {
		k.Note = "the bill was not read (--billing reads it from Cost Explorer)"
		return k
	}
	est := estimates(rs)
	if len(est) == 0 {
		k.Note = "no deployment with a cost estimate in the period"
		return k
	}
	var estimated, actual float64
	var first, second [2]float64 // estimated, actual per half
	mid := from.Add(to.Sub(from) / 2)
	days := 0
	for day := dayOf(from); day.Before(to); day = day.Add(24 * time.Hour) {
		amount, ok := billed.Days[day]
		if !ok {
			continue
		}
		dayEnd := day.Add(24 * time.Hour)
		var inForce *runs.Record
		for _, r := range est {
			if r.Ended.Before(dayEnd) {
				inForce = r
			}
		}
		if inForce == nil || inForce.Cost.Currency != billed.Currency {
			continue
		}
		e := inForce.Cost.Monthly * 24 / hoursPerMonth
		estimated += e
		actual += amount
		days++
		half := &second
		if day.Before(mid) {
			half = &first
		}
		half[0] += e
		half[1] += amount
	}
	k.Samples = days
	pct := func(e, a float64) *float64 {
		if e == 0 {
			return nil
		}
		return ptr(round(100 * (a - e) / e))
	}
	switch {
	case days < MinBilledDays:
		k.Note = tooFew(days, MinBilledDays, "billed days with an estimate in force")
	case estimated == 0:
		k.Note = "the estimates in force are zero: a variance against nothing is not a figure"
	default:
		k.Value = pct(estimated, actual)
		k.Met = ptr(math.Abs(*k.Value) < target)
		k.Note = fmt.Sprintf("billed %.2f %s against %.2f estimated over %d days", actual, billed.Currency, estimated, days)
	}
	k.First, k.Second = pct(first[0], first[1]), pct(second[0], second[1])
	return k
}

func dayOf(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}
