-- One row per (actor1, actor2, event type): who did what to whom, how often, when.
create or replace view actor_target_pairs as
with incidents as (
    select * from main.incidents
    where actor1 is not null and actor2 is not null
),

pairs as (
    select
        actor1,
        actor2,
        event_type,
        count(*) as incidents,
        count(*) filter (where modality = 'asserted') as asserted_incidents,
        min(event_date) as first_event_date,
        max(event_date) as last_event_date
    from incidents
    group by all
)

select * from pairs
order by incidents desc, actor1, actor2;
