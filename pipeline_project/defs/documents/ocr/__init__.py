"""OCR engines behind one interface: `OcrEngine.ocr_batch(...)` → olmOCR-format records."""
