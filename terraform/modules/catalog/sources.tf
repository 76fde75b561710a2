# AWS sources (docs/aws-sources.md): AWS service events the catalog maps to
# its event types. AWS puts them on the default bus of the account where they
# happen; a rule there (modules/flight-controller, aws_sources.tf, and
# modules/member-account in every other account) forwards them to the
# Flight Controller bus, where each event type's rule also matches the
# service events that become its events (the source's pattern and the
# emit's `when` field, merged). The ingest function maps them
# (lambdas/flight-core/src/envelope/aws_source.rs).

locals {
  sources = try(local.catalog.sources, [])

  # Canonical event type names by name or alias.
  canonical_type = merge(
    { for t in local.catalog.event_types : t.name => t.name },
    merge([for t in local.catalog.event_types : { for a in try(t.aliases, []) : a => t.name }]...),
  )

  # Every emit of every source with the pattern of the service events that
  # become its event: the source's pattern, plus the `when` field under
  # `detail` (the catalog checks its first key is not in the source's
  # `detail` pattern, so one level of merge is enough).
  source_emits = flatten([
    for s in local.sources : [
      for i, e in s.events : {
        key        = "${s.name}-${i}"
        source     = s.name
        event_type = lookup(local.canonical_type, e.event_type, e.event_type)
        pattern = try(e.when.field, null) == null ? jsonencode(s.pattern) : jsonencode(merge(s.pattern, {
          detail = merge(try(s.pattern.detail, {}), jsondecode(format(
            "%s%s%s",
            join("", [for k in split(".", trimprefix(e.when.field, "$.detail.")) : "{${jsonencode(k)}:"]),
            jsonencode([e.when.equals]),
            join("", [for k in split(".", trimprefix(e.when.field, "$.detail.")) : "}"]),
          )))
        }))
      }
    ]
  ])

  # Per event type, the patterns of the service events that become its events.
  source_patterns = {
    for t in local.catalog.event_types : t.name => [for e in local.source_emits : jsondecode(e.pattern) if e.event_type == t.name]
  }

  # What a default bus forwards to the Flight Controller bus: any service
  # event of a source (the functions' rules then choose by `when`).
  forward_pattern = (
    length(local.sources) == 0 ? null :
    length(local.sources) == 1 ? jsonencode(local.sources[0].pattern) :
    jsonencode({ "$or" = [for s in local.sources : s.pattern] })
  )
}

output "aws_sources" {
  description = "AWS sources (docs/aws-sources.md): forward_pattern (JSON, null without sources) for the default-bus rules that forward the catalog's service events to the Flight Controller bus, forward_rule_name, and emits by key <source>-<index>: source, event_type, pattern (JSON of the service events that become that event type's events)."
  value = {
    forward_pattern   = local.forward_pattern
    forward_rule_name = "${local.prefix}-aws-sources"
    emits             = { for e in local.source_emits : e.key => e }
  }
}
