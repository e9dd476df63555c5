000100*---------------------------------------------------------------- CUSTMAST
000200* CUSTMAST - CUSTOMER MASTER EXTRACT.  VARIABLE LENGTH (ODO).     CUSTMAST
000300*---------------------------------------------------------------- CUSTMAST
000400 01  CUSTOMER-RECORD.                                             CUSTMAST
000500     05  CUST-KEY.                                                CUSTMAST
000600         10  CUST-REGION         PIC X(02).                       CUSTMAST
000700         10  CUST-NUMBER         PIC 9(08).                       CUSTMAST
000800     05  CUST-TYPE               PIC X(01).                       CUSTMAST
000900         88  CUST-PERSON                    VALUE 'P'.            CUSTMAST
001000         88  CUST-BUSINESS                  VALUE 'B'.            CUSTMAST
001100     05  CUST-NAME-AREA          PIC X(40).                       CUSTMAST
001200     05  CUST-PERSON-NAME REDEFINES CUST-NAME-AREA.               CUSTMAST
001300         10  CUST-SURNAME        PIC X(20).                       CUSTMAST
001400         10  CUST-FORENAME       PIC X(15).                       CUSTMAST
001500         10  CUST-INITIALS       PIC X(03).                       CUSTMAST
001600         10  FILLER              PIC X(02).                       CUSTMAST
001700     05  CUST-ACCT-CODE          PIC X(06) JUSTIFIED RIGHT.       CUSTMAST
001800     05  FILLER                  PIC X(01)  VALUE '|'.            CUSTMAST
001900     05  CUST-BALANCE            PIC S9(09)V99 USAGE IS COMP-3.   CUSTMAST
002000     05  CUST-CREDIT-LIMIT       PIC 9(07) COMP-3.                CUSTMAST
002100     05  CUST-SCORE              PIC S9(03) COMP.                 CUSTMAST
002200     05  CUST-FLAG               PIC X(01) OCCURS 5 TIMES.        CUSTMAST
002300     05  CUST-ORDER-COUNT        PIC S9(04) COMP.                 CUSTMAST
002400     05  CUST-ORDERS             OCCURS 0 TO 10 TIMES             CUSTMAST
002500                                 DEPENDING ON CUST-ORDER-COUNT.   CUSTMAST
002600         10  ORD-ID              PIC X(06).                       CUSTMAST
002700         10  ORD-DATE            PIC 9(08).                       CUSTMAST
002800         10  ORD-VALUE           PIC S9(07)V99 COMP-3.            CUSTMAST
002900         10  ORD-QTY             PIC S9(03) SIGN LEADING SEPARATE.CUSTMAST
003000 66  CUST-IDENT RENAMES CUST-KEY THRU CUST-TYPE.                  CUSTMAST
