-- One row per incident, with the sentence that says it and the document it came from.
create or replace view incident_evidence as
with incidents as (
    select * from main.incidents
),

sentences as (
    select sentence_id, position as sentence_position, text as sentence_text
    from main.sentences
),

documents as (
    select doc_id, title, source_path, url, published_at
    from main.documents
    where deleted_at is null
),

joined as (
    select
        incidents.incident_id,
        incidents.event_date,
        incidents.event_type,
        incidents.sub_event_type,
        incidents.modality,
        incidents.actor1,
        incidents.actor2,
        incidents.location,
        incidents.admin1,
        incidents.country,
        incidents.fatalities,
        incidents.confidence,
        incidents.trigger,
        sentences.sentence_text,
        sentences.sentence_position,
        documents.title,
        documents.source_path,
        documents.url,
        documents.published_at
    from incidents
    inner join sentences on incidents.sentence_id = sentences.sentence_id
    inner join documents on incidents.doc_id = documents.doc_id
)

select * from joined;
