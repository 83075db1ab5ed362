-- One row per event date, event type and sub-event type: how many incident mentions,
-- in how many documents, and the deaths reported by asserted (not threatened,
-- hypothetical or denied) incidents.
create or replace view incidents_per_day as
with incidents as (
    select * from main.incidents
),

per_day as (
    select
        event_date,
        event_type,
        sub_event_type,
        count(*) as incidents,
        count(distinct doc_id) as documents,
        count(*) filter (where modality = 'asserted') as asserted_incidents,
        sum(fatalities) filter (where modality = 'asserted') as fatalities
    from incidents
    where event_date is not null
    group by all
)

select * from per_day
order by event_date, event_type, sub_event_type;
