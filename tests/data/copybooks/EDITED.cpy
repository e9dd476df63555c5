      * EDITED - report-style amounts: numeric-edited pictures, each
      * written by ferry as a COBOL MOVE to the edited item writes it.
       01  EDITED-REC.
           05  ED-Z            PIC ZZ,ZZ9.99.
           05  ED-ZCR          PIC ZZ,ZZ9.99CR.
           05  ED-ZDB          PIC Z(5)9.99DB.
           05  ED-STAR         PIC ***,**9.99.
           05  ED-STAR-ALL     PIC ****.**.
           05  ED-FLT-DOLLAR   PIC $$$,$$9.99-.
           05  ED-FLT-PLUS     PIC +++,++9.
           05  ED-FLT-MINUS    PIC ----,--9.99.
           05  ED-FIX-DOLLAR   PIC $ZZ,ZZ9.99+.
           05  ED-LEAD-PLUS    PIC +ZZZ9.
           05  ED-LEAD-MINUS   PIC -9(5).
           05  ED-ALL-Z        PIC ZZZ.ZZ.
           05  ED-DATE         PIC 99/99/99.
           05  ED-GROUPS       PIC 99B99B0099.
           05  ED-FLT-ALL      PIC $$$$.$$.
           05  ED-BWZ          PIC ZZ9.99 BLANK WHEN ZERO.
           05  ED-WIDE         PIC Z(30)9.
           05  ED-TRAIL-MINUS  PIC Z(4)9-.
           05  ED-IMPLIED      PIC ZZ9V99.
