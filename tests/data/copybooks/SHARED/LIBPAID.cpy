      * LIBPAID - what was paid and when (CLAIMLIB.cpy), its amount in the
      * PIC the including copybook's REPLACE gives AMOUNT-PIC
           05  CL-PAID         AMOUNT-PIC.
           05  CL-PAID-DATE    PIC 9(8).
