-- One row per normalised entity name and label: mentions, documents, and the first and
-- last publication dates it was seen in.
create or replace view entity_mention_counts as
with entities as (
    select * from main.entities
),

documents as (
    select doc_id, published_at from main.documents where deleted_at is null
),

counted as (
    select
        entities.normalized_name,
        entities.label,
        count(*) as mentions,
        count(distinct entities.doc_id) as documents,
        min(documents.published_at) as first_published_at,
        max(documents.published_at) as last_published_at
    from entities
    inner join documents on entities.doc_id = documents.doc_id
    group by all
)

select * from counted
order by mentions desc, normalized_name;
