-- What the browser snippet adds to clicks (sdk-js/README.md): the clicked element's box, so an offset
-- inside it (el_x / el_w) lines up across layouts, and how many clicks made a rage click.
ALTER TABLE {{ db }}.events {{ on_cluster }}
    ADD COLUMN IF NOT EXISTS el_w UInt32,
    ADD COLUMN IF NOT EXISTS el_h UInt32,
    ADD COLUMN IF NOT EXISTS clicks UInt16;
