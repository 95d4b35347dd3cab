-- The DICOMDIR keys of each instance that have no column of their own (image type,
-- position, orientation, rows, columns, referenced images, series date...), captured by
-- the receive path's header walk as a JSON object keyed by DICOM keyword, so file-sets
-- are built from the index without reading every file again. '{}' for instances received
-- before this migration: the media builder reads those files' headers instead.
ALTER TABLE instances ADD COLUMN media_keys TEXT NOT NULL DEFAULT '{}';
