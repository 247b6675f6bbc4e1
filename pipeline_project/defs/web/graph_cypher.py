"""The graph sink's Cypher: only statements that both Neo4j 5 and ArcadeDB (over Bolt) accept.

Every write sends its rows as one list parameter, `UNWIND $rows AS row ...`, keyed by ids under
unique constraints. New chunks (not found by one lookup of their ids) are CREATEd, which costs the
server far less than MERGE with its conditional vector update; chunks that exist already are
MERGEd. A chunk created meanwhile by another writer makes CREATE fail on the constraint, and the
writer then MERGEs those rows instead, so the result is the same either way.
"""

CONSTRAINTS = (
    "CREATE CONSTRAINT document_id IF NOT EXISTS FOR (d:Document) REQUIRE d.id IS UNIQUE",
    "CREATE CONSTRAINT chunk_id IF NOT EXISTS FOR (c:Chunk) REQUIRE c.id IS UNIQUE",
    "CREATE CONSTRAINT work_doi IF NOT EXISTS FOR (w:Work) REQUIRE w.doi IS UNIQUE",
)

MERGE_DOCUMENTS = """
UNWIND $rows AS row
MERGE (d:Document {id: row.id})
SET d.source_type = row.source_type, d.title = row.title, d.url = row.url, d.source_file = row.source_file
"""

EXISTING_CHUNKS = """
UNWIND $rows AS id
MATCH (c:Chunk {id: id})
RETURN c.id AS id
"""

# A null property (a chunk without a page) is not stored by CREATE, exactly as SET leaves it unset.
CREATE_CHUNKS = """
UNWIND $rows AS row
CREATE (c:Chunk {id: row.id, text: row.text, page: row.page, chunk_index: row.chunk_index,
                 embedding: row.embedding, model: row.model})
WITH c, row
MATCH (d:Document {id: row.doc_id})
CREATE (d)-[:HAS_CHUNK]->(c)
"""

# chunks whose vector is not there yet get neither `embedding` nor `model` (as MERGE_CHUNKS does)
CREATE_CHUNKS_WITHOUT_VECTOR = """
UNWIND $rows AS row
CREATE (c:Chunk {id: row.id, text: row.text, page: row.page, chunk_index: row.chunk_index})
WITH c, row
MATCH (d:Document {id: row.doc_id})
CREATE (d)-[:HAS_CHUNK]->(c)
"""

# A chunk id is a hash of its document and text, so its vector only changes with the model: writing
# the vector (and so updating the vector index, the costly part) only then makes re-runs cheap.
MERGE_CHUNKS = """
UNWIND $rows AS row
MERGE (c:Chunk {id: row.id})
SET c.text = row.text, c.page = row.page, c.chunk_index = row.chunk_index
FOREACH (_ IN CASE WHEN coalesce(c.model, '') <> row.model THEN [1] ELSE [] END |
    SET c.embedding = row.embedding, c.model = row.model)
WITH c, row
MATCH (d:Document {id: row.doc_id})
MERGE (d)-[:HAS_CHUNK]->(c)
"""

# a changed page keeps its document id but may lose chunks: they go, with their relationships
PRUNE_CHUNKS = """
UNWIND $rows AS row
MATCH (d:Document {id: row.doc_id})-[:HAS_CHUNK]->(c:Chunk)
WHERE NOT c.id IN row.keep
DETACH DELETE c
RETURN count(*) AS n
"""

CURRENT_LINKS = """
UNWIND $rows AS id
MATCH (a:Document {id: id})-[:LINKS_TO]->(b:Document)
RETURN a.id AS source, b.id AS target
"""

DELETE_LINKS = """
UNWIND $rows AS row
MATCH (a:Document {id: row.source})-[r:LINKS_TO]->(b:Document {id: row.target})
DELETE r
"""

MERGE_LINKS = """
UNWIND $rows AS row
MATCH (a:Document {id: row.source})
MATCH (b:Document {id: row.target})
MERGE (a)-[:LINKS_TO]->(b)
"""

MERGE_CITATIONS = """
UNWIND $rows AS row
MERGE (w:Work {doi: row.doi})
SET w.title = coalesce(row.title, w.title)
WITH w, row
MATCH (d:Document {id: row.doc_id})
MERGE (d)-[:CITES]->(w)
"""
