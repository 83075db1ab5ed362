-- One row per threat or warning: who threatened whom, when, and the words they used.
create or replace view threats as
with incidents as (
    select * from main.incidents
    where event_type = 'Threats'
),

sentences as (
    select sentence_id, text as sentence_text from main.sentences
),

threats as (
    select
        incidents.incident_id,
        incidents.event_date,
        incidents.date_precision,
        incidents.actor1 as speaker,
        incidents.actor2 as target,
        incidents.country,
        incidents.weapons,
        incidents.trigger,
        sentences.sentence_text
    from incidents
    inner join sentences on incidents.sentence_id = sentences.sentence_id
)

select * from threats
order by event_date, speaker;
