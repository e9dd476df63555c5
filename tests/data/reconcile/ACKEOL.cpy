      * ACKEOL - an ack layout whose fixed-length records count their
      * line end as a field (the last FILLER holds X'0A'): RECFM=FB.
       01  EOL-ACK.
           05  EA-REC-TYPE           PIC X(01).
               88  EA-IS-DETAIL      VALUE 'D'.
           05  EA-REF                PIC X(20).
           05  EA-STATUS             PIC X(01).
           05  FILLER                PIC X(01).
       01  EOL-TRL.
           05  ET-REC-TYPE           PIC X(01).
           05  ET-COUNT              PIC 9(07).
           05  FILLER                PIC X(01).
