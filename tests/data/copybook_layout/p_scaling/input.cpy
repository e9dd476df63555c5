       01  SCALED-REC.
           05  SC-THOUSANDS            PIC 99PPP.
           05  SC-TINY                 PIC VPPP999.
           05  SC-MIXED                PIC S999V99 COMP-3.
           05  SC-REPEAT               PIC 9999V999.
           05  SC-ALPHA                PIC AAA.
           05  SC-ALNUM                PIC XX9XX.
