       01  BAD-EDITS.
           05  BE-TOO-WIDE     PIC S9(32).
           05  BE-BIN-WIDE     PIC S9(19) COMP.
           05  BE-PACKED-ED    PIC ZZ9.99 COMP-3.
           05  BE-TWO-FLOATS   PIC $$$++9.
           05  BE-CR-INSIDE    PIC ZZCR99.
           05  BE-ZSTAR        PIC ZZ**9.
           05  BE-SIGN-MID     PIC ZZ+ZZ9.
           05  BE-ALNUM-ED     PIC XXBXX.
           05  BE-ED-WIDE      PIC Z(31)9.
