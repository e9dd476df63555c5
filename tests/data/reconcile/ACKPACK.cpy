      * ACKPACK - a test ack layout with a packed field: FB only.
       01  PACK-ACK.
           05  PA-REC-TYPE           PIC X(01).
           05  PA-REF                PIC X(20).
           05  PA-STATUS             PIC X(01).
           05  PA-REASON             PIC X(03).
           05  PA-PAID               PIC S9(07)V99 COMP-3.
           05  FILLER                PIC X(50).
       01  PACK-TRL.
           05  PT-REC-TYPE           PIC X(01).
           05  PT-COUNT              PIC 9(07).
           05  FILLER                PIC X(72).
