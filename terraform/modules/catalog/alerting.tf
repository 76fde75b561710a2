locals {
  # Burn-rate alerting (docs/alerting.md): per SLO, a metric-math alarm per
  # distinct (window, factor) of its rules, and a composite alarm per
  # severity that ORs each rule's (long AND short). flight-core's
  # `alerting::alarm_definitions` computes the same definitions;
  # lambdas/flightctl/tests/catalog_agreement.rs checks both agree.

  # The policy's built-in defaults: the SRE Workbook's multi-window,
  # multi-burn-rate table, short windows long enough for the publishing delay.
  alerting_defaults = {
    min_values      = 3
    lateness_window = "5m"
    sweep_interval  = "1m"
    rules = [
      { severity = "page", long_window = "1h", short_window = "15m", budget_spent = 2 },
      { severity = "page", long_window = "6h", short_window = "30m", budget_spent = 5 },
      { severity = "ticket", long_window = "3d", short_window = "6h", budget_spent = 10 },
    ]
  }
  # (Read with try(): the block and each of its keys are optional.)
  alerting = try(local.catalog.alerting, null)

  # Durations are written Nm, Nh or Nd (m = minutes): every text the catalog
  # uses, to its seconds (null when it is not one).
  duration_unit_seconds = { m = 60, h = 3600, d = 86400 }
  duration_texts = toset(compact(flatten([
    try(tostring(local.alerting.lateness_window), ""),
    try(tostring(local.alerting.sweep_interval), ""),
    [for s in local.slos : try(tostring(s.period), "")],
    [for name, p in local.slo_policy : [for r in p.rules : [try(tostring(r.long_window), ""), try(tostring(r.short_window), "")]]],
    [for r in local.alerting_defaults.rules : [r.long_window, r.short_window]],
    local.alerting_defaults.lateness_window,
    local.alerting_defaults.sweep_interval,
  ])))
  duration_seconds = {
    for t in local.duration_texts : t => (
      can(regex("^[0-9]+[mhd]$", t)) ? tonumber(regex("^[0-9]+", t)) * local.duration_unit_seconds[substr(t, length(t) - 1, 1)] : null
    )
  }

  lateness_window_text    = try(tostring(local.alerting.lateness_window), local.alerting_defaults.lateness_window)
  sweep_interval_text     = try(tostring(local.alerting.sweep_interval), local.alerting_defaults.sweep_interval)
  catalog_lateness_window = local.duration_seconds[local.lateness_window_text]
  sweep_interval_seconds  = local.duration_seconds[local.sweep_interval_text]
  # A data point stamped t is visible to CloudWatch from t + publish_delay.
  publish_delay_seconds = try(local.catalog_lateness_window + local.sweep_interval_seconds, 0)

  # Per SLO: the rules and min_values it alerts with (its own alerting block,
  # else the catalog's, else the defaults), and where they are written.
  slo_policy = {
    for i, s in local.slos : s.name => {
      min_values = try(s.alerting.min_values, local.alerting.min_values, local.alerting_defaults.min_values)
      rules      = try(s.alerting.rules, local.alerting.rules, local.alerting_defaults.rules)
      rules_path = can(s.alerting.rules) ? "slos[${i}].alerting.rules" : can(local.alerting.rules) ? "alerting.rules" : "the default rules"
      own_rules  = can(s.alerting.rules)
    }
  }

  # The SLO's period in seconds: rolling Nh / Nd, calendar month (30 d
  # nominal) or week; window_hours N (legacy) is a rolling N h; default 28d.
  calendar_period_seconds = { month = 30 * 86400, week = 7 * 86400 }
  slo_period_seconds = {
    for s in local.slos : s.name => (
      try(s.period, null) != null ? try(
        local.calendar_period_seconds[tostring(s.period)],
        can(regex("^[0-9]+[hd]$", tostring(s.period))) ? local.duration_seconds[tostring(s.period)] : null,
        null,
      )
      : try(s.window_hours, null) != null ? try(s.window_hours * 3600, null) : 28 * 86400
    )
  }

  # budget share b = (100 - objective) %; the highest burn rate possible is 1 / b.
  slo_budget_percent_text = { for s in local.slos : s.name => try(replace(format("%.10f", 100 - s.objective), "/\\.?0+$/", ""), "0") }
  slo_max_burn            = { for s in local.slos : s.name => try(100 / (100 - s.objective), 0) }

  # The most urgent severity an SLO notifies: `ticket` sends its pages to the ticket topic.
  slo_severity = { for s in local.slos : s.name => try(tostring(s.severity), "page") }

  # A number as CloudWatch texts take it: up to 10 decimals, trailing zeros trimmed.
  # Factors: 2 decimals, rounded half away from zero, once.
  slo_rules = {
    for s in local.slos : s.name => [
      for i, r in local.slo_policy[s.name].rules : {
        path     = "${local.slo_policy[s.name].rules_path}[${i}]"
        severity = try(tostring(r.severity), "")
        notify   = local.slo_severity[s.name] == "ticket" ? "ticket" : try(tostring(r.severity), "")
        long     = try(local.duration_seconds[tostring(r.long_window)], null)
        short    = try(local.duration_seconds[tostring(r.short_window)], null)
        explicit = try(r.factor, null) != null
        budget   = try(r.budget_spent, null)
        # Requested: the explicit factor, or the period's budget_spent % spent within the long window.
        requested = try(r.factor, null) != null ? try(r.factor + 0, 0) : try(
          local.slo_period_seconds[s.name] / local.duration_seconds[tostring(r.long_window)] * r.budget_spent / 100, 0
        )
      }
      # The catalog-wide rules apply where they fit: one whose long window is
      # longer than the SLO's period does not apply to it (a legacy
      # window_hours 24 SLO keeps its pages, has no 3-day ticket rule); the
      # SLO's own rules must all fit (checked below). As flight-core's catalog/slos.rs.
      if local.slo_policy[s.name].own_rules || try(local.duration_seconds[tostring(r.long_window)] <= local.slo_period_seconds[s.name], true)
    ]
  }
  slo_rule_alarms = {
    for name, rules in local.slo_rules : name => [
      for r in rules : merge(r, {
        # Factors scale against the maximum burn: never more than half a window's values bad.
        factor = try(tonumber(format("%.2f", floor((r.explicit ? r.requested : min(r.requested, local.slo_max_burn[name] / 2)) * 100 + 0.5) / 100)), 0)
      })
    ]
  }
  window_text = {
    for w in distinct(compact(flatten([for rules in local.slo_rules : [for r in rules : [try(tostring(r.long), ""), try(tostring(r.short), "")]]]))) :
    w => tonumber(w) % 86400 == 0 ? "${tonumber(w) / 86400}d" : tonumber(w) % 3600 == 0 ? "${tonumber(w) / 3600}h" : "${floor(tonumber(w) / 60)}m"
  }
  slo_rule_names = {
    for name, rules in local.slo_rule_alarms : name => [
      for r in rules : {
        long  = "${local.prefix}-slo-${name}-burn-${try(local.window_text[tostring(r.long)], "?")}-x${replace(format("%.2f", r.factor), "/\\.?0+$/", "")}"
        short = "${local.prefix}-slo-${name}-burn-${try(local.window_text[tostring(r.short)], "?")}-x${replace(format("%.2f", r.factor), "/\\.?0+$/", "")}"
      }
    ]
  }

  # CloudWatch's PR(n:m) is the share of values in (n, m]: at_most T is
  # PR(:T); at_least T is PR(T - 1e-10:), the exclusive bound just below T
  # (bounds take at most 10 decimals), so a value exactly at T is good.
  slo_good_statistic = {
    for s in local.slos : s.name => try(
      s.good_when == "at_most"
      ? "PR(:${replace(format("%.10f", s.threshold), "/\\.?0+$/", "")})"
      : "PR(${replace(format("%.10f", s.threshold - 0.0000000001), "/\\.?0+$/", "")}:)",
      ""
    )
  }

  # The burn rate from the ids of the window's sample count and good share:
  # format(local.burn_rate_expression, n_id, min_values, good_id, budget_percent_text).
  burn_rate_expression = "IF(%s >= %d, (100 - %s) / %s, 0)"

  slo_window_alarm_groups = {
    for a in flatten([
      for s in local.slos : [
        for i, r in local.slo_rule_alarms[s.name] : [
          for window, alarm_name in { long = local.slo_rule_names[s.name][i].long, short = local.slo_rule_names[s.name][i].short } : {
            alarm_name                     = alarm_name
            slo                            = s.name
            metric_name                    = s.metric
            namespace                      = local.namespace
            dimensions                     = tomap({ Environment = var.environment })
            window_seconds                 = window == "long" ? r.long : r.short
            factor                         = r.factor
            min_values                     = local.slo_policy[s.name].min_values
            budget_percent                 = tonumber(local.slo_budget_percent_text[s.name])
            good_statistic                 = local.slo_good_statistic[s.name]
            expression                     = format(local.burn_rate_expression, "n", local.slo_policy[s.name].min_values, "good", local.slo_budget_percent_text[s.name])
            treat_missing_data             = "notBreaching"
          }
        ]
      ]
    ]) : a.alarm_name => a...
  }
  # One alarm per distinct (window, factor) of an SLO: rules may share one.
  slo_window_alarm_definitions = { for name, group in local.slo_window_alarm_groups : name => group[0] }

  slo_composite_alarms = {
    for c in flatten([
      for s in local.slos : [
        for severity in local.severities : {
          alarm_name = "${local.prefix}-slo-${s.name}-${severity}"
          slo        = s.name
          severity   = severity
          pairs      = distinct([for i, r in local.slo_rule_alarms[s.name] : [local.slo_rule_names[s.name][i].long, local.slo_rule_names[s.name][i].short] if r.notify == severity])
        }
      ]
    ]) : c.alarm_name => merge(c, { rule = join(" OR ", [for p in c.pairs : "(ALARM(\"${p[0]}\") AND ALARM(\"${p[1]}\"))"]) }) if length(c.pairs) > 0
  }

  # Human texts of each SLO alarm (descriptions, the burn graph's labels).
  slo_alarm_texts = merge(
    {
      for name, a in local.slo_window_alarm_definitions : name => {
        description = "SLO ${a.slo}: burn rate of ${a.metric_name} over ${local.window_text[tostring(a.window_seconds)]} above ${a.factor} (bad share of the window's values / ${a.budget_percent} %; fewer than ${a.min_values} values never alarm). A component of the SLO's composite alarms; it notifies no one itself."
        label       = "burn rate ${local.window_text[tostring(a.window_seconds)]}"
      }
    },
    {
      for name, c in local.slo_composite_alarms : name => {
        description = "SLO ${c.slo} ${c.severity}: its error budget burns so fast that both windows of one of its ${length(c.pairs)} rules exceed the rule's factor. The burn-rate alarms named in its rule say which."
        label       = "${c.slo} ${c.severity}"
      }
    },
  )

  # Policies CloudWatch would refuse, or that could never alert as written.
  # `flightctl validate` says the same (one rule, one message each).
  max_alarm_window_seconds = 7 * 86400 # period x evaluation periods <= 604,800 s
  alerting_errors = concat(
    [for key in ["lateness_window", "sweep_interval"] : "alerting.${key} must be a duration written Nm, Nh or Nd" if can(local.alerting[key]) && try(local.duration_seconds[tostring(local.alerting[key])] == null, true)],
    [for x in [local.sweep_interval_seconds] : "alerting.sweep_interval must be at least 1m" if try(x < 60, false)],
    [for s in local.slos : "SLO ${s.name}: give period or window_hours, not both" if try(s.period, null) != null && try(s.window_hours, null) != null],
    [for s in local.slos : "SLO ${s.name}: window_hours must be a whole number of hours, 1 or more" if try(s.period, null) == null && try(s.window_hours, null) != null && !try(s.window_hours >= 1 && floor(s.window_hours) == s.window_hours, false)],
    [for s in local.slos : "SLO ${s.name}: period must be Nh or Nd (rolling), month or week (calendar)" if try(s.period, null) != null && local.slo_period_seconds[s.name] == null],
    [for s in local.slos : "SLO ${s.name}: time_zone applies to a calendar period (month or week) only" if try(s.time_zone, null) != null && !contains(["month", "week"], try(tostring(s.period), ""))],
    [for s in local.slos : "SLO ${s.name}: alerting.min_values must be a whole number, 1 or more" if !try(local.slo_policy[s.name].min_values >= 1 && floor(local.slo_policy[s.name].min_values) == local.slo_policy[s.name].min_values, false)],
    [for s in local.slos : "SLO ${s.name}: ${local.slo_policy[s.name].rules_path} must be a non-empty list" if !can(length(local.slo_policy[s.name].rules)) || try(length(local.slo_policy[s.name].rules) == 0, true)],
    flatten([
      for s in local.slos : [
        for r in local.slo_rules[s.name] : concat(
          contains(local.severities, r.severity) ? [] : ["SLO ${s.name}: ${r.path}.severity must be one of ${join(", ", local.severities)}"],
          r.long == null || r.short == null ? ["SLO ${s.name}: ${r.path}: long_window and short_window must be durations written Nm, Nh or Nd"] : concat(
            r.short >= 60 ? [] : ["SLO ${s.name}: ${r.path}: short_window must be at least 1m"],
            r.long > r.short ? [] : ["SLO ${s.name}: ${r.path}: long_window must be longer than short_window"],
            r.long <= local.max_alarm_window_seconds ? [] : ["SLO ${s.name}: ${r.path}: long_window must be at most 7d (CloudWatch evaluates an alarm over at most 7 days)"],
            try(r.long <= local.slo_period_seconds[s.name], true) ? [] : ["SLO ${s.name}: ${r.path}: long_window is longer than the SLO's period"],
            r.short >= 2 * local.publish_delay_seconds ? [] : ["SLO ${s.name}: ${r.path}: short_window must be at least twice the publishing delay (${local.publish_delay_seconds / 60} min = lateness_window + sweep_interval), so that at least half of it is visible; a lateness_window of at most ${max(floor((r.short / 2 - local.sweep_interval_seconds) / 60), 0)}m would allow it"],
          ),
          r.explicit == (r.budget != null) ? ["SLO ${s.name}: ${r.path}: give either budget_spent or factor"] : [],
          r.budget != null && !try(r.budget > 0 && r.budget <= 100, false) ? ["SLO ${s.name}: ${r.path}.budget_spent must be a percentage above 0, at most 100"] : [],
          r.explicit && !try(r.requested > 0, false) ? ["SLO ${s.name}: ${r.path}.factor must be above 0"] : [],
          r.explicit && try(r.requested >= local.slo_max_burn[s.name], false) ? ["SLO ${s.name}: ${r.path}.factor ${r.requested} can never be reached: at objective ${s.objective} the highest burn rate is ${replace(format("%.2f", local.slo_max_burn[s.name]), "/\\.?0+$/", "")}"] : [],
        )
      ]
    ]),
  )
}
